"""What crosses chainrule's border: DLPack (zero-copy arrays), safetensors weights, ONNX graphs.

    import chainrule as cr, chainrule.io
    y = cr.from_dlpack(torch_tensor)               # shares torch's memory
    chainrule.io.save_state_dict(model, "w.safetensors")   # torch_model.load_state_dict(...) takes it

Nothing here unpickles: weights travel as safetensors, graphs as ONNX protobufs, both
checked before they touch a module.
"""
from chainrule.io.dlpack import from_dlpack
from chainrule.io.onnx_import import OnnxImportError, OnnxModule, load_onnx
from chainrule.io.onnx_export import OnnxExportError, export as export_onnx
from chainrule.io.weights import WeightsFileError, check_weights_file, load_state_dict, save_state_dict

__all__ = ["OnnxExportError", "OnnxImportError", "OnnxModule", "load_onnx", "WeightsFileError", "export_onnx", "check_weights_file", "from_dlpack", "load_state_dict", "save_state_dict"]
