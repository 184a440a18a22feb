"""firesight.sensors"""
