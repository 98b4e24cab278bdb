package io.github.optlist.torch;

import org.bytedeco.pytorch.Tensor;

import static org.bytedeco.pytorch.global.torch.zeros_like;

/**
 * The optimizer's state for one parameter: its step count, both moments, and the scratch buffers the update
 * writes into so that a step allocates nothing. Created on the parameter's first update, on the device and in
 * the dtype the parameter has then.
 */
final class ParamState {

    final Tensor param;
    /** Where the parameter stands, e.g. {@code params[2] of group 0}, for messages. */
    final String position;
    /** Number of updates applied to this parameter; the next update is step {@code step} (0-based). */
    long step;
    Tensor expAvg;
    Tensor expAvgSq;
    /** {@code sqrt(v) + epsilon}, rewritten every step. */
    Tensor denominator;
    /** {@code grad - l2 * p}, only for configurations with an L2 term. */
    Tensor l2Gradient;

    ParamState(Tensor param, String position) {
        this.param = param;
        this.position = position;
    }

    boolean initialized() {
        return expAvg != null;
    }

    /** Allocates the moments and scratch buffers; called inside a no-grad region. */
    void initialize(boolean needsL2Gradient) {
        expAvg = NativeMemory.outliveScope(zeros_like(param));
        expAvgSq = NativeMemory.outliveScope(zeros_like(param));
        denominator = NativeMemory.outliveScope(zeros_like(param));
        if (needsL2Gradient) {
            l2Gradient = NativeMemory.outliveScope(zeros_like(param));
        }
    }

    /** Frees the state tensors; the parameter itself belongs to its group. */
    void release() {
        NativeMemory.release(expAvg);
        NativeMemory.release(expAvgSq);
        NativeMemory.release(denominator);
        NativeMemory.release(l2Gradient);
        expAvg = expAvgSq = denominator = l2Gradient = null;
    }
}
