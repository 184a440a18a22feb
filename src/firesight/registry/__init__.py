"""firesight.registry"""
