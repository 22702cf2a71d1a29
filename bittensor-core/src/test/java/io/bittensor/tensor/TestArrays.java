package io.bittensor.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Test-side reference: builds arrays and their expected wire bytes from plain Java arrays, element
 * by element, independently of the codec.
 */
final class TestArrays {
    private TestArrays() {
    }

    /** Logical values of one dtype: float[], double[], int[] or long[]. */
    static Object values(DataType type, int n, java.util.Random rnd) {
        switch (type) {
            case FLOAT: {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    // Any bit pattern: NaN payloads, infinities, -0.0 and subnormals included.
                    v[i] = rnd.nextInt(4) == 0 ? Float.intBitsToFloat(rnd.nextInt())
                            : (float) rnd.nextGaussian();
                }
                return v;
            }
            case DOUBLE: {
                double[] v = new double[n];
                for (int i = 0; i < n; i++) {
                    v[i] = rnd.nextInt(4) == 0 ? Double.longBitsToDouble(rnd.nextLong())
                            : rnd.nextGaussian();
                }
                return v;
            }
            case INT: {
                int[] v = new int[n];
                for (int i = 0; i < n; i++) {
                    v[i] = rnd.nextInt();
                }
                return v;
            }
            case LONG: {
                long[] v = new long[n];
                for (int i = 0; i < n; i++) {
                    v[i] = rnd.nextLong();
                }
                return v;
            }
            default:
                throw new IllegalArgumentException(type.toString());
        }
    }

    /** A dense C-ordered array with these values and shape. */
    static INDArray array(Object values, long[] shape) {
        INDArray flat;
        if (values instanceof float[] v) {
            flat = Nd4j.createFromArray(v);
        } else if (values instanceof double[] v) {
            flat = Nd4j.createFromArray(v);
        } else if (values instanceof int[] v) {
            flat = Nd4j.createFromArray(v);
        } else {
            flat = Nd4j.createFromArray((long[]) values);
        }
        if (flat.length() == 0) {
            return Nd4j.create(flat.dataType(), shape, 'c');
        }
        return flat.reshape('c', shape).dup('c');
    }

    /** The wire bytes: every element little-endian, in the given (C) order. */
    static byte[] littleEndian(Object values) {
        ByteBuffer b;
        if (values instanceof float[] v) {
            b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (float x : v) {
                b.putInt(Float.floatToRawIntBits(x));
            }
        } else if (values instanceof double[] v) {
            b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (double x : v) {
                b.putLong(Double.doubleToRawLongBits(x));
            }
        } else if (values instanceof int[] v) {
            b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (int x : v) {
                b.putInt(x);
            }
        } else {
            long[] v = (long[]) values;
            b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (long x : v) {
                b.putLong(x);
            }
        }
        return b.array();
    }

    /** The array's elements, in C order, as the same kind of Java array as {@link #values}. */
    static Object valuesOf(INDArray a) {
        INDArray flat = a.length() == 0 ? a : a.reshape('c', new long[] {a.length()});
        switch (a.dataType()) {
            case FLOAT:
                return a.length() == 0 ? new float[0] : flat.toFloatVector();
            case DOUBLE:
                return a.length() == 0 ? new double[0] : flat.toDoubleVector();
            case INT:
                return a.length() == 0 ? new int[0] : flat.toIntVector();
            case LONG:
                return a.length() == 0 ? new long[0] : flat.toLongVector();
            default:
                throw new IllegalArgumentException(a.dataType().toString());
        }
    }

    static long product(long[] shape) {
        long p = 1;
        for (long d : shape) {
            p *= d;
        }
        return p;
    }
}
