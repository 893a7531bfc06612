"""Bringing networks in and out: ONNX and PyTorch import, ``to_torch``, PyTorch scripts.

Nothing here imports onnx or torch until it is used; both are optional extras
(``visualconv[onnx]``, ``visualconv[torch]``). Nothing in an imported file is executed
or unpickled.
"""
