// One direction of the recurrence op on CUDA: per step one cuBLAS GEMM hw = h_prev W_hh^T (B, G*H) and one
// pointwise cell kernel (native/cuda/recurrence.cu) that adds xw[t] and b_hh; backward per step one cell kernel and
// one GEMM for the carried dh, then dW_hh and db_hh as one GEMM each over all steps. Saved state as the CPU op:
// h (T+1, B, H) states before/after each step in processing order s (time t = reverse ? T-1-s : s), c likewise
// (LSTM), gates (T, B, 4H). ReLU/tanh RNN and LSTM; GRU is not implemented on CUDA.
using Cochlea.Cuda.Cublas;

namespace Cochlea.Cuda.Rnn;

internal sealed unsafe class CudaRecurrence : IDisposable
{
    readonly CudaDevice _dev;
    readonly Device _device;
    readonly RecurrentCell _cell;
    readonly int _t, _b, _h, _gh;
    readonly bool _reverse, _inputMajor;
    readonly float _forgetBias;
    readonly Tensor _hs, _pre;
    readonly Tensor? _cs, _gates, _lengths;

    public CudaRecurrence(CudaDevice dev, Device device, RecurrentCell cell, int T, int B, int H, bool reverse, int[]? lengths, float forgetBias, bool hhInputMajor)
    {
        if (cell == RecurrentCell.Gru)
            throw new NotSupportedException("recurrence: GRU cells are not implemented on CUDA yet; run this layer on the CPU (.To(Device.Cpu)) or use an LSTM/RNN cell.");
        _dev = dev; _device = device; _cell = cell; _t = T; _b = B; _h = H; _gh = (cell == RecurrentCell.Lstm ? 4 : 1) * H;
        _reverse = reverse; _inputMajor = hhInputMajor; _forgetBias = forgetBias;
        using var _ = TensorScope.Suspend();   // saved state lives until backward, whatever scope is active
        // Every step writes slice s + 1 (inactive rows copy slice s), so only the zero initial state needs a memset.
        _hs = CudaTensors.Empty(device, T + 1, B, H);
        dev.Zero(_hs.DevicePtr, (long)B * H * sizeof(float));
        _pre = CudaTensors.Empty(device, B, _gh);
        if (cell == RecurrentCell.Lstm)
        {
            _cs = CudaTensors.Empty(device, T + 1, B, H);
            dev.Zero(_cs.DevicePtr, (long)B * H * sizeof(float));
            _gates = CudaTensors.Empty(device, Math.Max(T, 1), B, _gh);
        }
        if (lengths is not null)
        {
            _lengths = Tensor.Empty([B], DType.Int32, device);
            fixed (int* p = lengths) dev.CopyToDevice(_lengths.DevicePtr, p, (long)B * sizeof(int));
        }
    }

    int TimeOf(int s) => _reverse ? _t - 1 - s : s;
    ulong H(int s) => _hs.DevicePtr + (ulong)((long)s * _b * _h * sizeof(float));
    ulong C(int s) => _cs!.DevicePtr + (ulong)((long)s * _b * _h * sizeof(float));
    ulong Gates(int s) => _gates!.DevicePtr + (ulong)((long)s * _b * _gh * sizeof(float));
    static ulong Row(ulong p, long index) => p + (ulong)(index * sizeof(float));

    /// <summary>Runs the T steps: xw (T, B, G*H), W_hh, b_hh (G*H) or 0; writes rows of y (T, B, ldy) from <paramref name="y"/> (H values per row).</summary>
    public void Forward(ulong xw, ulong w, ulong bhh, ulong y, int ldy)
    {
        int B = _b, Hd = _h, relu = _cell == RecurrentCell.RnnRelu ? 1 : 0, ld = ldy;
        ulong lengths = _lengths?.DevicePtr ?? 0, pre = _pre.DevicePtr;
        float fb = _forgetBias;
        // The kernel arguments point at these locals; each step updates their values.
        int t = 0;
        ulong hPrev = 0, hNext = 0, xt = 0, yt = 0, cPrev = 0, cNext = 0, gs = 0;
        bool lstm = _cell == RecurrentCell.Lstm;
        void** args = stackalloc void*[15];
        if (lstm) Fill(args, new void*[] { &pre, &xt, &bhh, &cPrev, &hPrev, &gs, &cNext, &hNext, &yt, &ld, &lengths, &t, &B, &Hd, &fb });
        else Fill(args, new void*[] { &pre, &xt, &bhh, &hPrev, &hNext, &yt, &ld, &lengths, &t, &B, &Hd, &relu });
        for (int s = 0; s < _t; s++)
        {
            t = TimeOf(s);
            hPrev = H(s); hNext = H(s + 1); xt = Row(xw, (long)t * B * _gh); yt = Row(y, (long)t * B * ldy);
            // hw (B, GH) = h_prev (B, H) W_hh^T, with W_hh (GH, H), or h_prev W_hh with the input-major (H, GH)
            CudaGemm.Run(_dev, false, !_inputMajor, B, _gh, Hd, 1f, hPrev, Hd, w, _inputMajor ? _gh : Hd, 0f, pre, _gh);
            if (lstm) { cPrev = C(s); cNext = C(s + 1); gs = Gates(s); }
            CudaTensors.Launch(_dev, lstm ? "lstm_cell_forward_f32" : "rnn_cell_forward_f32", (long)B * Hd, args);
        }
    }

    static void Fill(void** args, void*[] values)
    {
        for (int i = 0; i < values.Length; i++) args[i] = values[i];
    }

    /// <summary>BPTT: gy rows (T, B, ldgy) from <paramref name="gy"/>; writes dxw (T, B, G*H), dW_hh (W_hh's shape) and db_hh (G*H) when non-zero.</summary>
    public void Backward(ulong gy, int ldgy, ulong w, ulong dxw, ulong dw, ulong dbhh)
    {
        int B = _b, Hd = _h, GH = _gh, relu = _cell == RecurrentCell.RnnRelu ? 1 : 0, ld = ldgy;
        int rows = _t * B;
        if (rows == 0)
        {
            _dev.Zero(dw, (long)GH * Hd * sizeof(float));
            if (dbhh != 0) _dev.Zero(dbhh, (long)GH * sizeof(float));
            return;
        }
        using var dpreAll = CudaTensors.Empty(_device, _t, B, GH);   // dL/d(hw) by step s, for dW_hh
        using var dh = CudaTensors.Empty(_device, B, Hd);            // dL/dh of the current step (written before read)
        using var dhGemm = CudaTensors.Empty(_device, B, Hd);        // dpre_{s+1} W_hh, the carried gradient of active rows
        using var dc = _cell == RecurrentCell.Lstm ? CudaTensors.Zeros(_dev, B, Hd) : null;
        ulong lengths = _lengths?.DevicePtr ?? 0, pdh = dh.DevicePtr, pdhg = dhGemm.DevicePtr, pdc = dc?.DevicePtr ?? 0;
        int t = 0, tAfter = -1;
        ulong gyt = 0, dxt = 0, dps = 0, gs = 0, cPrev = 0, cNext = 0, hNext = 0;
        bool lstm = _cell == RecurrentCell.Lstm;
        void** args = stackalloc void*[15];
        if (lstm) Fill(args, new void*[] { &gs, &cPrev, &cNext, &gyt, &ld, &pdhg, &pdh, &pdc, &dps, &dxt, &lengths, &t, &tAfter, &B, &Hd });
        else Fill(args, new void*[] { &hNext, &gyt, &ld, &pdhg, &pdh, &dps, &dxt, &lengths, &t, &tAfter, &B, &Hd, &relu });
        for (int s = _t - 1; s >= 0; s--)
        {
            t = TimeOf(s); tAfter = s == _t - 1 ? -1 : TimeOf(s + 1);
            gyt = Row(gy, (long)t * B * ldgy); dxt = Row(dxw, (long)t * B * GH); dps = Row(dpreAll.DevicePtr, (long)s * B * GH);
            if (lstm) { gs = Gates(s); cPrev = C(s); cNext = C(s + 1); }
            else hNext = H(s + 1);
            CudaTensors.Launch(_dev, lstm ? "lstm_cell_backward_f32" : "rnn_cell_backward_f32", (long)B * Hd, args);
            // carried to step s-1: dh_prev (B, H) = dpre (B, GH) W_hh (GH, H), or dpre W_hh^T in the input-major layout
            if (s > 0) CudaGemm.Run(_dev, false, _inputMajor, B, Hd, GH, 1f, dps, GH, w, _inputMajor ? GH : Hd, 0f, pdhg, Hd);
        }
        // dW_hh = sum_s dpre_s^T h_s (GH, H), or h_s^T dpre_s (H, GH): one GEMM over all T*B rows; db_hh = 1^T dpre.
        if (_inputMajor) CudaGemm.Run(_dev, true, false, Hd, GH, rows, 1f, H(0), Hd, dpreAll.DevicePtr, GH, 0f, dw, GH);
        else CudaGemm.Run(_dev, true, false, GH, Hd, rows, 1f, dpreAll.DevicePtr, GH, H(0), Hd, 0f, dw, Hd);
        if (dbhh != 0) CudaGemm.Run(_dev, false, false, 1, GH, rows, 1f, _dev.Ones(rows), rows, dpreAll.DevicePtr, GH, 0f, dbhh, GH);
    }

    public void Dispose()
    {
        _hs.Dispose(); _pre.Dispose(); _cs?.Dispose(); _gates?.Dispose(); _lengths?.Dispose();
    }
}
