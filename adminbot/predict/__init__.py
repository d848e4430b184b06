"""Predictions from stored series: a disk filling up, an error rate far above its usual."""
