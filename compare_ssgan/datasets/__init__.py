"""Datasets following the element contract `{"images": [H,W,3] in [0,1], "labels": int32}`."""
