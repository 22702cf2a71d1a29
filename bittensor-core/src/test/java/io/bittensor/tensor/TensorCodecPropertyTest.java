package io.bittensor.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import io.bittensor.tensor.TensorDecodeException.Reason;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Seeded random cases. Each run draws a fresh base seed (printed with any failure); replay one
 * with {@code -Dtensor.seed=<seed>}.
 */
class TensorCodecPropertyTest {

    private static final int CASES = 300;
    private static final DataType[] TYPES = {DataType.FLOAT, DataType.DOUBLE, DataType.INT,
            DataType.LONG};

    private final TensorCodec codec = new TensorCodec(new TensorLimits(1 << 16, 6));

    private static long baseSeed() {
        return Long.getLong("tensor.seed", System.nanoTime());
    }

    /** Runs {@code body} once per case with its own seed; a failure names the seeds. */
    private static void forAll(String name, CaseBody body) {
        long base = baseSeed();
        Random seeds = new Random(base);
        for (int i = 0; i < CASES; i++) {
            long seed = seeds.nextLong();
            try {
                body.run(new Random(seed));
            } catch (Throwable t) {
                throw new AssertionError(name + " failed at case " + i + " (replay with "
                        + "-Dtensor.seed=" + base + "; case seed " + seed + "): " + t, t);
            }
        }
    }

    @FunctionalInterface
    private interface CaseBody {
        void run(Random rnd) throws Exception;
    }

    private static long[] randomShape(Random rnd, int maxRank) {
        long[] shape = new long[rnd.nextInt(maxRank + 1)];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(6);
        }
        return shape;
    }

    /** The same logical array, sometimes as an F-ordered copy or an offset view of a bigger one. */
    private static INDArray layoutVariant(Object values, long[] shape, Random rnd) {
        INDArray dense = TestArrays.array(values, shape);
        int variant = rnd.nextInt(3);
        if (variant == 1 && dense.length() > 0) {
            return dense.dup('f');
        }
        if (variant == 2 && dense.length() > 0) {
            long[] outer = new long[shape.length + 1];
            outer[0] = 3;
            System.arraycopy(shape, 0, outer, 1, shape.length);
            INDArray big = org.nd4j.linalg.factory.Nd4j.create(dense.dataType(), outer, 'c');
            INDArrayIndex[] idx = new INDArrayIndex[outer.length];
            idx[0] = NDArrayIndex.point(1);
            for (int i = 1; i < idx.length; i++) {
                idx[i] = NDArrayIndex.all();
            }
            INDArray view = big.get(idx);
            view.assign(dense);
            return view;
        }
        return dense;
    }

    @Test
    void randomShapesAndDtypesRoundTripExactly() {
        forAll("round trip", rnd -> {
            DataType type = TYPES[rnd.nextInt(TYPES.length)];
            Modality modality = switch (rnd.nextInt(4)) {
                case 0 -> Modality.IMAGE;
                case 1 -> Modality.TEXT;
                default -> Modality.TENSOR;
            };
            if (modality == Modality.IMAGE) {
                type = DataType.FLOAT;
            } else if (modality == Modality.TEXT) {
                type = DataType.LONG;
            }
            long[] shape = randomShape(rnd, 5);
            Object values = TestArrays.values(type, (int) TestArrays.product(shape), rnd);
            INDArray source = layoutVariant(values, shape, rnd);
            boolean grad = rnd.nextBoolean();

            Tensor t = codec.encode(source, modality, grad);
            Tensor wire = Tensor.parseFrom(t.toByteArray());
            assertArrayEquals(TestArrays.littleEndian(values), wire.getBuffer().toByteArray(),
                    "wire bytes");
            assertEquals(grad && modality != Modality.TEXT, wire.getRequiresGrad());
            INDArray back = codec.decode(wire);
            assertEquals(type, back.dataType());
            assertArrayEquals(shape, back.shape());
            assertArrayEquals(TestArrays.littleEndian(values),
                    TestArrays.littleEndian(TestArrays.valuesOf(back)), "values");
            if (back.length() > 0) {
                INDArray reused = codec.decodeInto(wire, back.like());
                assertArrayEquals(TestArrays.littleEndian(values),
                        TestArrays.littleEndian(TestArrays.valuesOf(reused)), "decodeInto");
            }
        });
    }

    @Test
    void corruptedHeadersAlwaysGiveTheTypedError() {
        forAll("corrupt header", rnd -> {
            DataType type = TYPES[rnd.nextInt(TYPES.length)];
            long[] shape = randomShape(rnd, 4);
            Tensor good = codec.encode(TestArrays.array(
                    TestArrays.values(type, (int) TestArrays.product(shape), rnd), shape),
                    Modality.TENSOR);
            Tensor.Builder bad = good.toBuilder();
            Set<Reason> expected;
            int size = good.getBuffer().size();
            switch (rnd.nextInt(9)) {
                case 0 -> { // truncate
                    if (size == 0) {
                        bad.setBuffer(ByteString.copyFrom(new byte[1 + rnd.nextInt(8)]));
                    } else {
                        bad.setBuffer(good.getBuffer().substring(0, rnd.nextInt(size)));
                    }
                    expected = EnumSet.of(Reason.LENGTH_MISMATCH);
                }
                case 1 -> { // extend
                    bad.setBuffer(good.getBuffer().concat(
                            ByteString.copyFrom(new byte[1 + rnd.nextInt(16)])));
                    expected = EnumSet.of(Reason.LENGTH_MISMATCH);
                }
                case 2 -> { // a dimension changes, the buffer does not
                    if (shape.length == 0) {
                        bad.addShape(2);
                    } else if (TestArrays.product(shape) == 0) {
                        for (int i = 0; i < shape.length; i++) {
                            bad.setShape(i, Math.max(1, shape[i])); // now non-empty
                        }
                    } else {
                        int i = rnd.nextInt(shape.length);
                        bad.setShape(i, rnd.nextBoolean() ? 0 : shape[i] + 1 + rnd.nextInt(5));
                    }
                    expected = EnumSet.of(Reason.LENGTH_MISMATCH, Reason.BAD_SHAPE);
                }
                case 3 -> { // negative dimension
                    bad.addShape(-1 - rnd.nextInt(Integer.MAX_VALUE));
                    expected = EnumSet.of(Reason.BAD_SHAPE);
                }
                case 4 -> { // huge dimension
                    bad.addShape((1L << 17) + (rnd.nextLong() >>> 2));
                    expected = EnumSet.of(Reason.TOO_LARGE, Reason.BAD_SHAPE);
                }
                case 5 -> { // rank over the limit
                    while (bad.getShapeCount() <= 6) {
                        bad.addShape(1);
                    }
                    expected = EnumSet.of(Reason.BAD_SHAPE);
                }
                case 6 -> { // UNKNOWN, UTF8 or a number the enum lacks
                    int[] choices = {0, 5, 6 + rnd.nextInt(1000), -1 - rnd.nextInt(1000)};
                    bad.setDtypeValue(choices[rnd.nextInt(choices.length)]);
                    expected = EnumSet.of(Reason.UNKNOWN_DTYPE);
                }
                case 7 -> { // unknown modality
                    bad.setModalityValue(rnd.nextBoolean() ? 3 + rnd.nextInt(1000)
                            : -1 - rnd.nextInt(1000));
                    expected = EnumSet.of(Reason.UNKNOWN_MODALITY);
                }
                default -> { // IMAGE that is not float32
                    bad.setModality(Modality.IMAGE).setDtypeValue(2 + rnd.nextInt(3));
                    expected = EnumSet.of(Reason.UNKNOWN_DTYPE);
                }
            }
            // Through the wire, as a peer would send it.
            Tensor hostile = Tensor.parseFrom(bad.build().toByteArray());
            TensorDecodeException e = assertThrows(TensorDecodeException.class,
                    () -> codec.decode(hostile), () -> "shape " + hostile.getShapeList());
            if (!expected.contains(e.reason())) {
                fail("expected one of " + expected + ", got " + e.getMessage());
            }
        });
    }

    @Test
    void randomlyDamagedBytesDecodeOrGiveTheTypedError() {
        forAll("damaged bytes", rnd -> {
            long[] shape = randomShape(rnd, 3);
            DataType type = TYPES[rnd.nextInt(TYPES.length)];
            byte[] wire = codec.encode(TestArrays.array(
                    TestArrays.values(type, (int) TestArrays.product(shape), rnd), shape),
                    Modality.TENSOR).toByteArray();
            byte[] damaged = Arrays.copyOf(wire, Math.max(1, wire.length + rnd.nextInt(9) - 4));
            for (int flips = 1 + rnd.nextInt(4); flips > 0; flips--) {
                damaged[rnd.nextInt(damaged.length)] = (byte) rnd.nextInt(256);
            }
            Tensor parsed;
            try {
                parsed = Tensor.parseFrom(damaged);
            } catch (InvalidProtocolBufferException notAMessage) {
                return; // protobuf's own error, before the codec sees anything
            }
            try {
                INDArray a = codec.decode(parsed);
                assertEquals(parsed.getBuffer().size(),
                        a.length() * a.dataType().width(), "decoded size");
            } catch (TensorDecodeException expected) {
                // the typed error: fine
            }
        });
    }
}
