"""PyTorch side of test/pytorch_checkpoint.test.ts (Debian's python3-torch, torch 1.13, CPU).

The model, written here in plain PyTorch (TorchDEQ is not installed): a linear injection
u = inj(x), the implicit layer z* = tanh(cell(z*) + u) with torch's weight norm on `cell`
(state-dict names cell.weight_g / cell.weight_v), and a linear read-out y = readout(z*).
The fixed point is found by plain iteration until the residual stops shrinking.

    torch_deq.py load <ckpt.safetensors> <io.json> <out.json>
        loads a checkpoint written by tsdeq (strict), solves for the x in io.json and writes
        {"z": ..., "y": ..., "residual": ...}.
    torch_deq.py make <dtype> <d_in> <d> <d_out> <seed> <ckpt.safetensors> <io.json> <out.json>
        builds the model with torch's own init, writes its state dict as safetensors (by hand:
        JSON header + raw little-endian bytes; the safetensors package is not on Debian) and
        the solution for the x in io.json.
"""
import json
import struct
import sys

import torch
from torch import nn

DT = {"F32": torch.float32, "F64": torch.float64}
NAME = {torch.float32: "F32", torch.float64: "F64"}


def read_safetensors(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    body = raw[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = DT[info["dtype"]]
        t = torch.frombuffer(bytearray(body[begin:end]), dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        data = t.numpy().astype(t.numpy().dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": NAME[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)))
        fh.write(text)
        for c in chunks:
            fh.write(c)


class DEQModel(nn.Module):
    def __init__(self, d_in, d, d_out):
        super().__init__()
        self.inj = nn.Linear(d_in, d)
        self.cell = nn.utils.weight_norm(nn.Linear(d, d), name="weight", dim=0)
        self.readout = nn.Linear(d, d_out)

    def f(self, z, u):
        return torch.tanh(self.cell(z) + u)

    @torch.no_grad()
    def solve(self, x, max_iter=20000):
        u = self.inj(x)
        z = torch.zeros(x.shape[0], self.cell.weight_v.shape[0], dtype=x.dtype)
        best = float("inf")
        stall = 0
        for _ in range(max_iter):
            z_new = self.f(z, u)
            r = (z_new - z).abs().max().item()
            z = z_new
            if r < best:
                best, stall = r, 0
            else:
                stall += 1
            if r == 0.0 or stall > 50:
                break
        residual = (self.f(z, u) - z).abs().max().item()
        return z, self.readout(z), residual


def solution(model, io, dtype):
    x = torch.tensor(io["x"], dtype=dtype)
    z, y, residual = model.solve(x)
    return {"z": z.tolist(), "y": y.tolist(), "residual": residual}


def main():
    cmd = sys.argv[1]
    torch.set_num_threads(1)
    if cmd == "load":
        ckpt, io_path, out_path = sys.argv[2:5]
        state = read_safetensors(ckpt)
        dtype = state["inj.weight"].dtype
        d, d_in = state["inj.weight"].shape
        d_out = state["readout.weight"].shape[0]
        model = DEQModel(d_in, d, d_out).to(dtype)
        model.load_state_dict(state, strict=True)
        with open(io_path) as fh:
            io = json.load(fh)
        result = solution(model, io, dtype)
        result["keys"] = sorted(state.keys())
    elif cmd == "make":
        dtype_name, d_in, d, d_out, seed, ckpt, io_path, out_path = sys.argv[2:10]
        dtype = {"float32": torch.float32, "float64": torch.float64}[dtype_name]
        torch.manual_seed(int(seed))
        model = DEQModel(int(d_in), int(d), int(d_out)).to(dtype)
        with torch.no_grad():
            # Keep the cell contractive so plain iteration converges: ||W|| rows scaled to 0.5.
            model.cell.weight_g.fill_(0.5 / int(d) ** 0.5)
        write_safetensors(ckpt, model.state_dict())
        with open(io_path) as fh:
            io = json.load(fh)
        result = solution(model, io, dtype)
        result["keys"] = sorted(model.state_dict().keys())
    else:
        raise SystemExit(f"unknown command {cmd}")
    with open(out_path, "w") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    main()
