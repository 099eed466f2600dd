"""training.bc.export_checkpoint: a running BC job's checkpoint as a shippable adapter."""

import json

import torch
from safetensors.torch import load_file, save_file

from training.bc import export_checkpoint


def test_export_writes_fp16_weights_and_names_the_base_by_spec(tmp_path):
    ckpt = tmp_path / "checkpoint-75"
    ckpt.mkdir()
    save_file({"a.lora_A.weight": torch.ones(2, 3)}, str(ckpt / "adapter_model.safetensors"))
    (ckpt / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/root/.cache/x", "r": 16}))
    (ckpt / "trainer_state.json").write_text(json.dumps({"global_step": 75}))
    (ckpt / "optimizer.pt").write_bytes(b"big")
    out = tmp_path / "policy"
    assert export_checkpoint(ckpt, out, "smollm2-135m") == 75
    assert sorted(p.name for p in out.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    assert json.loads((out / "adapter_config.json").read_text())["base_model_name_or_path"] == "smollm2-135m"
    assert load_file(str(out / "adapter_model.safetensors"))["a.lora_A.weight"].dtype == torch.float16
