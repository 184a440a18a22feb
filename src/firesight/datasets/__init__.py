"""firesight.datasets"""
