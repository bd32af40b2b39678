# Golden check of the host-emulated CUDA kernels (host.cpp) against PyTorch float64 autograd: recurrence (ReLU/tanh
# RNN, LSTM; reverse, input-major W_hh, with/without bias, sequence lengths incl. 0), stft framing + DFT-basis GEMM
# and its overlap-add backward, complex |z| / angle and gradients (0 at z = 0), explicit conv padding and its crop.
# Usage: python3 check.py /path/to/host   (run in a scratch folder: it writes *.bin / *.out files there)
import numpy as np, torch, subprocess, math, sys
HOST = sys.argv[1] if len(sys.argv) > 1 else "./host"
torch.manual_seed(0); rng = np.random.default_rng(0)
def w(name, a): np.asarray(a, dtype=np.float32).tofile(name)
def r(name): return np.fromfile(name, dtype=np.float32)
def run(*args): subprocess.run([HOST, *map(str, args)], check=True)
def close(name, a, b, tol=2e-5):
    a = np.asarray(a, dtype=np.float64).ravel(); b = np.asarray(b, dtype=np.float64).ravel()
    err = np.max(np.abs(a - b) / (1 + np.abs(b))) if a.size else 0
    print(f"{name:40s} max rel err {err:.2e} {'OK' if err < tol else 'FAIL'}")
    return err < tol

ok = True
for cell, reverse, im, hasb, lengths in [(0,0,0,1,[6,4,1]), (1,1,0,1,[6,4,1]), (2,0,0,1,[6,4,1]), (2,1,1,0,[5,6,0]), (0,1,1,0,[6,6,6]), (1,0,1,1,[3,6,2])]:
    T, B, H = 6, 3, 5; G = 4 if cell == 2 else 1; GH = G * H
    xw = torch.randn(T, B, GH, dtype=torch.float64, requires_grad=True)
    W = (0.3 * torch.randn(*( (H, GH) if im else (GH, H) ), dtype=torch.float64)).requires_grad_()
    b = torch.randn(GH, dtype=torch.float64, requires_grad=True)
    gy = torch.randn(T, B, H, dtype=torch.float64)
    h = torch.zeros(B, H, dtype=torch.float64); c = torch.zeros(B, H, dtype=torch.float64); ys = [None] * T
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        a = xw[t] + h @ (W if im else W.T) + (b if hasb else 0)
        act = (torch.tensor(lengths) > t).double().unsqueeze(1)
        if cell == 2:
            i, f, g, o = a.chunk(4, dim=1)
            i, f, g, o = torch.sigmoid(i), torch.sigmoid(f + 1.0), torch.tanh(g), torch.sigmoid(o)
            cn = f * c + i * g; hn = o * torch.tanh(cn); c = act * cn + (1 - act) * c
        else:
            hn = torch.relu(a) if cell == 0 else torch.tanh(a)
        h = act * hn + (1 - act) * h; ys[t] = act * hn
    y = torch.stack(ys); (y * gy).sum().backward()
    w("xw.bin", xw.detach()); w("w.bin", W.detach()); w("b.bin", b.detach()); w("gy.bin", gy)
    run("rnn", cell, T, B, H, reverse, im, hasb, *lengths)
    tag = f"cell={cell} rev={reverse} im={im} bias={hasb} len={lengths}"
    ok &= close(f"rnn y {tag}", r("y.out"), y.detach())
    ok &= close(f"rnn dxw {tag}", r("dxw.out"), xw.grad)
    ok &= close(f"rnn dw {tag}", r("dw.out"), W.grad)
    if hasb: ok &= close(f"rnn db {tag}", r("db.out"), b.grad)

for (B, N, nfft, hop, L, off, F) in [(2, 37, 16, 5, 12, 0, 6), (1, 40, 16, 5, 10, 3, 6), (2, 23, 16, 4, 10, 0, 5)]:
    bins = nfft // 2 + 1
    win = torch.hann_window(L, dtype=torch.float64)
    x = torch.randn(B, N, dtype=torch.float64, requires_grad=True)
    need = (F - 1) * hop + off + L
    xp = torch.cat([x, torch.zeros(B, max(0, need - N), dtype=torch.float64)], 1)
    frames = torch.stack([xp[:, f * hop + off: f * hop + off + L] for f in range(F)], 1) * win   # (B, F, L)
    full = torch.zeros(B, F, nfft, dtype=torch.float64)
    full = torch.cat([full[..., :off], frames, full[..., off + L:]], -1) if off + L <= nfft else None
    X = torch.view_as_real(torch.fft.rfft(full, dim=-1))     # (B, F, bins, 2)
    g = torch.randn_like(X); (X * g).sum().backward()
    basis = np.zeros((2 * bins, L))
    for k in range(bins):
        for t in range(L):
            a = 2 * math.pi * ((k * (off + t)) % nfft) / nfft
            basis[2 * k, t] = win[t] * math.cos(a); basis[2 * k + 1, t] = -win[t] * math.sin(a)
    w("x.bin", x.detach()); w("basis.bin", basis); w("g.bin", g)
    run("stft", B, N, F, L, hop, off, bins)
    ok &= close(f"stft y B={B} N={N} off={off} F={F}", r("y.out"), X.detach(), 1e-4)
    ok &= close(f"stft dx B={B} N={N} off={off} F={F}", r("dx.out"), x.grad, 1e-4)

for angle in (0, 1):
    n = 50
    z = torch.randn(n, 2, dtype=torch.float64); z[3] = 0
    z.requires_grad_()
    zc = torch.view_as_complex(z)
    y = torch.angle(zc) if angle else torch.abs(zc)
    g = torch.randn(n, dtype=torch.float64); (y * g).sum().backward()
    w("z.bin", z.detach()); w("g.bin", g)
    run("polar", n, angle)
    ok &= close(f"polar y angle={angle}", r("y.out"), y.detach())
    ok &= close(f"polar dz angle={angle} (z[3]=0 -> 0)", r("dz.out"), z.grad)

P, h, wd, top, bot, left, right = 6, 5, 7, 1, 2, 0, 3
x = rng.standard_normal((P, h, wd)); gpad = rng.standard_normal((P, h + top + bot, wd + left + right))
w("x.bin", x); w("g.bin", gpad)
run("pad", P, h, wd, top, left, h + top + bot, wd + left + right)
ok &= close("pad", r("y.out"), np.pad(x, ((0, 0), (top, bot), (left, right))))
ok &= close("crop", r("dx.out"), gpad[:, top:top + h, left:left + wd])
print("ALL OK" if ok else "SOME FAILED")
sys.exit(0 if ok else 1)
