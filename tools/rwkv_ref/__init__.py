"""PyTorch reference of the Vision-RWKV family for rwkv-vision (never needed at run time).

Module and parameter names follow the official OpenGVLab/Vision-RWKV code (mmcls layout), so
state dicts written here load with the same keys as the released checkpoints.
"""
