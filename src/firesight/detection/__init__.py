"""firesight.detection"""
