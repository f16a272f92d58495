"""Differential tester: the model, the kernel's overlayfs and FUSE overlays, step by step."""
