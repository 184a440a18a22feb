"""firesight.iot"""
