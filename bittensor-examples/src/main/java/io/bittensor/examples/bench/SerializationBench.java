package io.bittensor.examples.bench;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.ArrayPool;
import io.bittensor.tensor.NativeBuffers;
import io.bittensor.tensor.NativeTensor;
import io.bittensor.tensor.TensorCodec;
import io.bittensor.tensor.WireTensor;
import io.bittensor.transport.OutgoingMessage;
import io.bittensor.transport.OutgoingMessageMarshaller;
import io.bittensor.transport.ParseBuffers;
import io.bittensor.transport.PooledMessageMarshaller;
import io.bittensor.transport.NativeMessageMarshaller;
import io.bittensor.transport.ReceivedMessage;
import io.bittensor.transport.TensorMessageMarshaller;
import io.grpc.Drainable;
import io.grpc.HasByteBuffer;
import io.grpc.KnownLength;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Serialize/deserialize throughput of {@link TensorCodec} beside a plain {@code System.arraycopy}
 * of the same number of bytes, measured in the same run and interleaved round by round so that
 * background load hits every row alike. Prints one table: payload GB/s (1e9 bytes/s) and time per
 * operation as the median of the rounds, the ratio to the copy, and the same for the best round.
 *
 * <p>What "decode" means per row: <i>decode</i> and <i>new INDArray</i> rows copy into a freshly
 * allocated array; <i>decodeInto</i> and <i>pooled decode</i> copy into an existing one;
 * <i>decodeView</i> rows copy nothing: the new INDArray's memory is the native block the tensor's
 * bytes were written or received into ({@code WireTensor}), valid until that block's owner closes.
 * So "encodeWire + decodeView" is one copy (the array into a pooled native block) plus a fresh
 * INDArray object over it; the transport's own copies are in the "wire" rows only.
 *
 * <p>Build with {@code ./mvnw -B -q -o -pl bittensor-examples -am package -DskipTests}, then run
 * this class with the examples' runtime classpath, {@code OMP_NUM_THREADS=1} and
 * {@code -Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2}. Figures: docs/serialization.md.
 * Arguments: rounds (default 7), milliseconds per row per round (default 300).
 */
public final class SerializationBench {

    private SerializationBench() {
    }

    /** One timed operation; returns something derived from its result so it cannot be elided. */
    @FunctionalInterface
    private interface Op {
        long run() throws IOException;
    }

    private static long sink;

    public static void main(String[] args) throws IOException {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        long millis = args.length > 1 ? Long.parseLong(args[1]) : 300;
        System.out.printf(Locale.ROOT, "ND4J %s, %d round(s) x %d ms per row, OMP_NUM_THREADS=%s%n",
                Nd4j.getBackend().getClass().getSimpleName(), rounds, millis,
                System.getenv("OMP_NUM_THREADS"));
        List<String> rows = new ArrayList<>();
        for (long[] shape : new long[][] {{64, 1, 512}, {256, 128, 512}}) {
            rows.addAll(benchShape(shape, rounds, millis));
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "%-16s %-44s %8s %10s %8s %8s %8s%n",
                "shape (float32)", "operation", "GB/s", "us/op", "x copy", "best", "x copy");
        System.out.printf(Locale.ROOT, "%-16s %-44s %8s %10s %8s %8s %8s%n",
                "", "", "median", "median", "median", "GB/s", "best");
        rows.forEach(System.out::println);
        if (sink == 42) {
            System.out.println();
        }
    }

    private static List<String> benchShape(long[] shape, int rounds, long millis)
            throws IOException {
        TensorCodec codec = TensorCodec.defaults();
        INDArray array = Nd4j.rand(DataType.FLOAT, shape);
        long bytes = array.length() * 4;
        byte[] src = new byte[(int) bytes];
        byte[] dst = new byte[(int) bytes];
        Arrays.fill(src, (byte) 1);

        Tensor tensor = codec.encode(array, Modality.TENSOR);
        INDArray reused = array.like();
        ArrayPool pool = new ArrayPool(1L << 30);
        TensorMessage message = TensorMessage.newBuilder().setVersion("0.0.0")
                .addTensors(tensor).build();
        byte[] wire = new byte[message.getSerializedSize() + 64]; // reused output buffer
        // The Axon's path: replies streamed from native memory, requests parsed into pooled buffers.
        ParseBuffers parseBuffers = new ParseBuffers(64L << 20);
        PooledMessageMarshaller pooledParse = new PooledMessageMarshaller(parseBuffers);
        ArrayOut out = new ArrayOut(wire);
        TensorMessage header = TensorMessage.newBuilder().setVersion("0.0.0").build();
        int wireLength = encodeAndWrite(codec, array, wire);
        byte[] received = Arrays.copyOf(wire, wireLength); // a message as it arrives, for parse-only rows
        // The zero-copy path: tensor bytes in pooled native blocks, decoded as views of them.
        NativeBuffers blocks = new NativeBuffers(1L << 30);
        NativeMessageMarshaller nativeParse = new NativeMessageMarshaller(blocks);

        String[] names = {
            "plain byte[] copy (System.arraycopy)",
            "byte[] clone (allocate + copy)",
            "encode (INDArray -> Tensor)",
            "decode (Tensor -> new INDArray)",
            "decodeInto (Tensor -> reused INDArray)",
            "round trip: encode + decodeInto",
            "round trip: encode + decode",
            "wire: encode+serialize+parse+decodeInto",
            "wire: encode+serialize+parse+decode (new)",
            "wire: ... +aliasing parse+pooled decode",
            "wire: ... as above, gRPC-like parse stream",
            "(bench) native -> reused byte[] copy",
            "native stream: encodeNative + drain (send)",
            "pooled parse + pooled decode (receive)",
            "wire: native stream+pooled parse+pooled dec",
            "wire: native stream+pooled parse+new INDArray",
            "encodeWire + decodeView (new INDArray, 1 copy)",
            "native receive + decodeView (receive)",
            "wire: native stream+native receive+decodeView",
        };
        Op[] ops = {
            () -> {
                System.arraycopy(src, 0, dst, 0, src.length);
                return dst[dst.length - 1];
            },
            () -> src.clone().length,
            () -> codec.encode(array, Modality.TENSOR).getBuffer().size(),
            () -> codec.decode(tensor).length(),
            () -> codec.decodeInto(tensor, reused).length(),
            () -> codec.decodeInto(codec.encode(array, Modality.TENSOR), reused).length(),
            () -> codec.decode(codec.encode(array, Modality.TENSOR)).length(),
            () -> {
                int n = encodeAndWrite(codec, array, wire);
                TensorMessage in = TensorMessage.parseFrom(CodedInputStream.newInstance(wire, 0, n));
                return codec.decodeInto(in.getTensors(0), reused).length();
            },
            () -> { // gRPC's default marshaller and a fresh array, as before
                int n = encodeAndWrite(codec, array, wire);
                TensorMessage in = TensorMessage.parseFrom(CodedInputStream.newInstance(wire, 0, n));
                INDArray fresh = codec.decode(in.getTensors(0));
                long len = fresh.length();
                fresh.close(); // freed at once, as a pool would: no GC pile-up skews the row
                return len;
            },
            () -> { // what the Axon does now: TensorMessageMarshaller, ArrayPool
                int n = encodeAndWrite(codec, array, wire);
                TensorMessage in = TensorMessageMarshaller.INSTANCE.parse(
                        new ByteArrayInputStream(wire, 0, n));
                try (ArrayPool.PooledArray p = codec.decode(in.getTensors(0), pool)) {
                    return p.array().length();
                }
            },
            () -> { // the same, parsed from the kind of stream gRPC hands a marshaller
                int n = encodeAndWrite(codec, array, wire);
                TensorMessage in = TensorMessageMarshaller.INSTANCE.parse(
                        new GrpcLikeStream(wire, n));
                try (ArrayPool.PooledArray p = codec.decode(in.getTensors(0), pool)) {
                    return p.array().length();
                }
            },
            () -> { // not an API: what encode's copy costs without a fresh byte[] to fill
                array.data().asNio().get(dst);
                return dst[dst.length - 1];
            },
            () -> drainNative(codec, array, header, out), // what the Axon's reply costs to write
            () -> { // what the Axon's request costs to read
                try (ReceivedMessage in = pooledParse.parse(new GrpcLikeStream(received, received.length));
                     ArrayPool.PooledArray p = codec.decode(in.message().getTensors(0), pool)) {
                    return p.array().length();
                }
            },
            () -> { // both: the whole round trip the Axon's way
                int n = drainNative(codec, array, header, out);
                try (ReceivedMessage in = pooledParse.parse(new GrpcLikeStream(wire, n));
                     ArrayPool.PooledArray p = codec.decode(in.message().getTensors(0), pool)) {
                    return p.array().length();
                }
            },
            () -> { // the same, decoded into a new INDArray (closed at once, as a pool would)
                int n = drainNative(codec, array, header, out);
                try (ReceivedMessage in = pooledParse.parse(new GrpcLikeStream(wire, n))) {
                    INDArray fresh = codec.decode(in.message().getTensors(0));
                    long len = fresh.length();
                    fresh.close();
                    return len;
                }
            },
            () -> { // encode: one native-to-native copy into a pooled block; decode: a new INDArray viewing it
                try (WireTensor w = codec.encodeWire(array, Modality.TENSOR, false, blocks)) {
                    return codec.decodeView(w).length();
                }
            },
            () -> { // what a Dendrite's reply costs to read now: gRPC's buffers -> block, then a view
                try (ReceivedMessage in = nativeParse.parse(new GrpcLikeStream(received, received.length))) {
                    return codec.decodeView(in.tensor(0)).length();
                }
            },
            () -> { // both: the Axon's send and the Dendrite's receive, one round trip
                int n = drainNative(codec, array, header, out);
                try (ReceivedMessage in = nativeParse.parse(new GrpcLikeStream(wire, n))) {
                    return codec.decodeView(in.tensor(0)).length();
                }
            },
        };

        double[][] nanosPerOp = new double[ops.length][rounds];
        for (int i = 0; i < ops.length; i++) { // warm-up: JIT and first-touch of buffers
            time(ops[i], Math.max(500, millis));
        }
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < ops.length; i++) {
                nanosPerOp[i][r] = time(ops[i], millis);
            }
        }

        List<String> rows = new ArrayList<>();
        double copy = median(nanosPerOp[0]);
        double bestCopy = best(nanosPerOp[0]);
        for (int i = 0; i < ops.length; i++) {
            double ns = median(nanosPerOp[i]);
            double bestNs = best(nanosPerOp[i]);
            rows.add(String.format(Locale.ROOT, "%-16s %-44s %8.2f %10.1f %8.2f %8.2f %8.2f",
                    Arrays.toString(shape).replace(" ", ""), names[i], bytes / ns, ns / 1e3,
                    copy / ns, bytes / bestNs, bestCopy / bestNs));
        }
        reused.close();
        pool.close();
        if (blocks.lent() != 0) {
            throw new IllegalStateException(blocks.lent() + " native blocks still lent");
        }
        blocks.close();
        if (parseBuffers.idleBytes() > parseBuffers.maxIdleBytes()) {
            throw new IllegalStateException("parse buffers over their bound");
        }
        return rows;
    }

    /** Encodes {@code array} into a one-tensor message and writes it into {@code wire}; its length. */
    private static int encodeAndWrite(TensorCodec codec, INDArray array, byte[] wire)
            throws IOException {
        TensorMessage out = TensorMessage.newBuilder().setVersion("0.0.0")
                .addTensors(codec.encode(array, Modality.TENSOR)).build();
        CodedOutputStream cos = CodedOutputStream.newInstance(wire);
        out.writeTo(cos);
        return cos.getTotalBytesWritten();
    }

    /**
     * Writes a one-tensor message the Axon's way: the tensor's bytes streamed from the array's
     * native memory by the marshaller gRPC is given ({@link Drainable}), into {@code out}.
     */
    private static int drainNative(TensorCodec codec, INDArray array, TensorMessage header, ArrayOut out)
            throws IOException {
        NativeTensor t = codec.encodeNative(array, Modality.TENSOR, false);
        try (OutgoingMessage m = OutgoingMessage.of(header, List.of(t))) {
            InputStream s = OutgoingMessageMarshaller.INSTANCE.stream(m);
            out.reset();
            return ((Drainable) s).drainTo(out);
        }
    }

    /** A reused fixed array as an OutputStream: stands for gRPC's (pooled) transport buffers. */
    private static final class ArrayOut extends OutputStream {
        private final byte[] buf;
        private int pos;

        ArrayOut(byte[] buf) {
            this.buf = buf;
        }

        void reset() {
            pos = 0;
        }

        @Override
        public void write(int b) {
            buf[pos++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            System.arraycopy(b, off, buf, pos, len);
            pos += len;
        }
    }

    /**
     * What gRPC hands a marshaller: a stream that knows its length, reads in bulk and lends its
     * buffers ({@link HasByteBuffer}, 32 KiB at a time), but, like gRPC's own
     * {@code BufferInputStream}, keeps {@code InputStream}'s {@code readNBytes(int)} (which reads
     * 8 KiB pieces and copies them again). {@link ByteArrayInputStream} overrides
     * that, so parsing from it hides the cost.
     */
    private static final class GrpcLikeStream extends InputStream implements KnownLength, HasByteBuffer {
        /** Bytes lent per {@link #getByteBuffer()}: about what one of Netty's received buffers holds. */
        private static final int PIECE = 32 * 1024;
        private final byte[] bytes;
        private final int end;
        private int pos;

        @Override
        public boolean byteBufferSupported() {
            return true;
        }

        @Override
        public ByteBuffer getByteBuffer() {
            return pos >= end ? null : ByteBuffer.wrap(bytes, pos, Math.min(PIECE, end - pos)).slice();
        }

        @Override
        public long skip(long n) {
            int k = (int) Math.min(n, end - pos);
            pos += k;
            return k;
        }

        GrpcLikeStream(byte[] bytes, int length) {
            this.bytes = bytes;
            this.end = length;
        }

        @Override
        public int available() {
            return end - pos;
        }

        @Override
        public int read() {
            return pos < end ? bytes[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (len == 0) {
                return 0;
            }
            if (pos >= end) {
                return -1;
            }
            int n = Math.min(len, end - pos);
            System.arraycopy(bytes, pos, b, off, n);
            pos += n;
            return n;
        }
    }

    /** Nanoseconds per call of {@code op}, run repeatedly for about {@code millis}. */
    private static double time(Op op, long millis) throws IOException {
        long budget = millis * 1_000_000L;
        long calls = 0;
        long start = System.nanoTime();
        long elapsed;
        do {
            for (int i = 0; i < 4; i++) {
                sink += op.run();
            }
            calls += 4;
            elapsed = System.nanoTime() - start;
        } while (elapsed < budget);
        return (double) elapsed / calls;
    }

    private static double best(double[] xs) {
        return Arrays.stream(xs).min().orElseThrow();
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
