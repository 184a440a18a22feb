"""firesight.features"""
