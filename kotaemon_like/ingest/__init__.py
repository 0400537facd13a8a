"""Turning files into indexed chunks: loaders, splitting, the manifest and the indexing pipeline."""
