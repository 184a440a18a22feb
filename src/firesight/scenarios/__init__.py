"""firesight.scenarios"""
