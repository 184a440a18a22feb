"""firesight.physics"""
