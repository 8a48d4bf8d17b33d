"""Which device a command runs on: names checked before any model or volume is loaded."""

from __future__ import annotations

import pytest

from hypseg.device import resolve_device
from hypseg.errors import UserError


def test_cpu_and_auto_without_cuda(monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") == "cpu"
    with pytest.raises(UserError, match="^device 'cuda:0' was requested but CUDA is not available on this machine$"):
        resolve_device("cuda:0")
    with pytest.raises(UserError, match="^unknown device 'mps'; choose auto, cpu, cuda or cuda:N$"):
        resolve_device("mps")


@pytest.mark.parametrize(("devices", "name", "message"), [
    (2, "cuda:3", "device 'cuda:3' was requested; this machine has 2 CUDA devices: cuda:0 to cuda:1"),
    (1, "cuda:1", "device 'cuda:1' was requested; this machine has 1 CUDA device: cuda:0"),
    (2, "cuda:x", "device 'cuda:x' was requested; this machine has 2 CUDA devices: cuda:0 to cuda:1"),
])
def test_a_cuda_device_the_machine_lacks_is_named_with_those_it_has(monkeypatch, devices, name, message):
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: devices)
    with pytest.raises(UserError) as error:
        resolve_device(name)
    assert str(error.value) == message
    assert resolve_device(f"cuda:{devices - 1}") == f"cuda:{devices - 1}" and resolve_device("auto") == "cuda"
