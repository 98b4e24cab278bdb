package io.github.optlist.internal;

import org.bytedeco.pytorch.global.torch.ScalarType;

/**
 * LibTorch's dtypes by their code: the number {@code tensor.scalar_type().value} gives, which this library keeps
 * in plain fields and sends between ranks in place of the enum.
 */
public final class ScalarTypes {

    /** Every dtype, read once: {@code values()} copies the array at each call, and a step asks per bucket. */
    private static final ScalarType[] ALL = ScalarType.values();

    private ScalarTypes() {
    }

    /**
     * The dtype whose code is {@code code}.
     *
     * @throws IllegalArgumentException if no dtype has that code
     */
    public static ScalarType of(int code) {
        for (ScalarType type : ALL) {
            if (type.value == code) {
                return type;
            }
        }
        throw new IllegalArgumentException("no ScalarType " + code);
    }

    /** Whether {@code dtype} (a code) is float16 or bfloat16. */
    public static boolean isHalf(int dtype) {
        return dtype == ScalarType.Half.value || dtype == ScalarType.BFloat16.value;
    }
}
