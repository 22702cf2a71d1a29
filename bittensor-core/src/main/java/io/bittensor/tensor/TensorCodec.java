package io.bittensor.tensor;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.bittensor.proto.Modality;
import io.bittensor.proto.Tensor;
import io.bittensor.tensor.TensorDecodeException.Reason;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link INDArray} &lt;-&gt; wire {@link Tensor}, byte-compatible with the original Python peer
 * (docs/serialization.md): {@code buffer} = the elements in row-major order, each little-endian;
 * {@code shape} explicit; {@code version} "0.0.0".
 *
 * <p>Bytes move in bulk, once per direction, with no per-element loops: encode copies the dense
 * ND4J buffer into a new {@code byte[]} that the {@link ByteString} then owns (wrapped, not copied
 * again); decode copies the {@code ByteString} straight into a fresh (or reused) ND4J buffer.
 *
 * <p><b>Why encode copies.</b> protobuf-java 4.36 has only heap-backed {@code ByteString}s (its
 * {@code NioByteString} is gone), so {@code UnsafeByteOperations.unsafeWrap(arr.data().asNio())}
 * copies the native memory into a {@code byte[]} anyway. Doing that one copy ourselves keeps it
 * visible and makes ownership simple: the tensor owns its bytes, the caller keeps its array, and
 * later writes to the array (or ND4J freeing it) never reach a tensor already built.
 *
 * <p>Decoding validates the header against {@link TensorLimits} before allocating anything, and
 * throws {@link TensorDecodeException} on anything it cannot honour. Instances are immutable and
 * thread-safe.
 */
public final class TensorCodec {

    /** The {@code version} string every tensor carries, as the original writes it. */
    public static final String WIRE_VERSION = "0.0.0";

    private static final boolean NATIVE_LITTLE_ENDIAN =
            ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private static final TensorCodec DEFAULTS = new TensorCodec(TensorLimits.DEFAULT);

    private final TensorLimits limits;

    public TensorCodec(TensorLimits limits) {
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /** A codec with {@link TensorLimits#DEFAULT}. */
    public static TensorCodec defaults() {
        return DEFAULTS;
    }

    public TensorLimits limits() {
        return limits;
    }

    // ------------------------------------------------------------------------------------ encode

    /** {@link #encode(INDArray, Modality, boolean)} with {@code requires_grad} false. */
    public Tensor encode(INDArray array, Modality modality) {
        return encode(array, modality, false);
    }

    /**
     * Encodes {@code array} for the wire: any order, view or offset; the tensor gets its own copy
     * of the elements in C order.
     *
     * <p>IMAGE is sent as FLOAT32 and TEXT as INT64 (the array is cast if needed); TEXT always has
     * {@code requires_grad} false. TENSOR takes FLOAT, DOUBLE, INT or LONG arrays.
     *
     * @throws IllegalArgumentException for a dtype the wire cannot carry (TENSOR modality), an
     *                                  unrecognized modality, or 2 GiB of data or more
     */
    public Tensor encode(INDArray array, Modality modality, boolean requiresGrad) {
        return encode(array, modality, requiresGrad, byte[]::new);
    }

    /**
     * As {@link #encode(INDArray, Modality, boolean)}, with the bytes copied into an array from
     * {@code buffers}: called once with the byte length, it returns an array at least that long
     * (say, a pooled one). The tensor's {@code buffer} is a view of its first bytes, so the array
     * must stay unchanged, and in no one else's hands, for as long as the tensor is used.
     */
    @SuppressWarnings("try") // the workspace scope is only opened and closed
    public Tensor encode(INDArray array, Modality modality, boolean requiresGrad,
                         java.util.function.IntFunction<byte[]> buffers) {
        Objects.requireNonNull(array, "array");
        Objects.requireNonNull(buffers, "buffers");
        Objects.requireNonNull(modality, "modality");
        DataType wireType = wireTypeFor(array.dataType(), modality);
        WireType wt = WireType.of(wireType);
        long byteLength = byteLength(array, wt);
        Tensor.Builder out = header(array, wt, modality, requiresGrad);
        if (byteLength == 0) {
            return out.build();
        }

        INDArray dense = array;
        // Scoped out of workspaces: temporaries must not land in (or outlive) the caller's.
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            if (dense.dataType() != wireType) {
                dense = dense.castTo(wireType);
            }
            ByteBuffer src = exactBytes(dense, byteLength);
            if (src == null) {
                dense = dense.dup('c'); // views, other orders: one native copy into C order
                src = exactBytes(dense, byteLength);
                if (src == null) {
                    throw new IllegalStateException("ND4J dup('c') did not give a dense buffer");
                }
            }
            int n = (int) byteLength;
            byte[] bytes = buffers.apply(n);
            if (bytes.length < n) {
                throw new IllegalStateException("buffer of " + bytes.length + " bytes for " + n);
            }
            if (NATIVE_LITTLE_ENDIAN) {
                src.get(bytes, 0, n);
            } else {
                copyElements(src, ByteOrder.nativeOrder(), ByteBuffer.wrap(bytes, 0, n),
                        ByteOrder.LITTLE_ENDIAN, wt.elementSize);
            }
            // The tensor alone holds bytes (or its owner lends them for the tensor's life).
            return out.setBuffer(bytes.length == n ? UnsafeByteOperations.unsafeWrap(bytes)
                    : UnsafeByteOperations.unsafeWrap(bytes, 0, n)).build();
        } finally {
            // asNio() does not keep ND4J's buffer reachable; the array must outlive the copy.
            Reference.reachabilityFence(dense);
            Reference.reachabilityFence(array);
        }
    }

    /**
     * What {@link #encode(INDArray, Modality, boolean)} gives, except that the bytes stay in
     * native memory until the tensor is written ({@link NativeTensor#writeBuffer}): no heap copy of
     * the elements is made. {@code array} itself is read then if it is a dense C-ordered array of
     * the wire dtype; a view, another order or dtype is first copied into a private dense array
     * that {@link NativeTensor#close()} frees.
     *
     * <p>So {@code array} must stay open and unchanged until the tensor is written, and the
     * tensor should be closed once written (or not needed).
     *
     * @throws IllegalArgumentException as {@link #encode(INDArray, Modality, boolean)}
     */
    public NativeTensor encodeNative(INDArray array, Modality modality, boolean requiresGrad) {
        return encodeNative(array, modality, requiresGrad, array.dataType());
    }

    /**
     * {@link #encodeNative(INDArray, Modality, boolean)} of {@code array} cast to {@code type}
     * (the cast goes into the tensor's private copy; nothing is cast if the types match).
     */
    @SuppressWarnings("try") // the workspace scope is only opened and closed
    public NativeTensor encodeNative(INDArray array, Modality modality, boolean requiresGrad,
                                     DataType type) {
        Objects.requireNonNull(array, "array");
        Objects.requireNonNull(modality, "modality");
        Objects.requireNonNull(type, "type");
        DataType wireType = wireTypeFor(type, modality);
        WireType wt = WireType.of(wireType);
        long byteLength = byteLength(array, wt);
        Tensor meta = header(array, wt, modality, requiresGrad).build();
        if (byteLength == 0) {
            return new NativeTensor(meta, null, false, 0);
        }
        if (!NATIVE_LITTLE_ENDIAN) { // rare: swap into heap bytes now, as encode does
            INDArray typed = array.dataType() == wireType ? array : array.castTo(wireType);
            return NativeTensor.ofHeap(encode(typed, modality, requiresGrad));
        }
        if (array.dataType() == wireType && isDense(array)) {
            return new NativeTensor(meta, array, false, (int) byteLength);
        }
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            INDArray dense = array.dataType() != wireType ? array.castTo(wireType) : array;
            if (!isDense(dense)) {
                INDArray cast = dense;
                dense = dense.dup('c');
                if (cast != array && cast.closeable()) {
                    cast.close(); // a cast view: only the dense copy is kept
                }
            }
            if (!isDense(dense)) {
                throw new IllegalStateException("ND4J dup('c') did not give a dense buffer");
            }
            return new NativeTensor(meta, dense, true, (int) byteLength);
        } finally {
            Reference.reachabilityFence(array);
        }
    }

    /**
     * What {@link #encode(INDArray, Modality, boolean)} gives, with the bytes copied once into a
     * native block from {@code blocks} instead of a heap array: a {@link WireTensor} that
     * {@link #decodeView} can read without another copy, and that owns its block until closed.
     *
     * @throws IllegalArgumentException as {@link #encode(INDArray, Modality, boolean)}
     */
    @SuppressWarnings("try") // the workspace scope is only opened and closed
    public WireTensor encodeWire(INDArray array, Modality modality, boolean requiresGrad,
                                 NativeBuffers blocks) {
        Objects.requireNonNull(array, "array");
        Objects.requireNonNull(modality, "modality");
        Objects.requireNonNull(blocks, "blocks");
        DataType wireType = wireTypeFor(array.dataType(), modality);
        WireType wt = WireType.of(wireType);
        long byteLength = byteLength(array, wt);
        Tensor meta = header(array, wt, modality, requiresGrad).build();
        if (byteLength == 0) {
            return new WireTensor(meta, null);
        }
        INDArray dense = array;
        NativeBuffers.Block block = null;
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            if (dense.dataType() != wireType) {
                dense = dense.castTo(wireType);
            }
            ByteBuffer src = exactBytes(dense, byteLength);
            if (src == null) {
                dense = dense.dup('c');
                src = exactBytes(dense, byteLength);
                if (src == null) {
                    throw new IllegalStateException("ND4J dup('c') did not give a dense buffer");
                }
            }
            block = blocks.acquire(byteLength);
            ByteBuffer dst = block.buffer();
            if (NATIVE_LITTLE_ENDIAN) {
                dst.put(src); // one native-to-native copy
            } else {
                copyElements(src, ByteOrder.nativeOrder(), dst, ByteOrder.LITTLE_ENDIAN, wt.elementSize);
            }
            WireTensor out = new WireTensor(meta, block);
            block = null;
            return out;
        } finally {
            if (block != null) {
                block.close(); // the copy failed
            }
            Reference.reachabilityFence(dense);
            Reference.reachabilityFence(array);
        }
    }

    private static long byteLength(INDArray array, WireType wt) {
        long byteLength = Math.multiplyExact(array.length(), (long) wt.elementSize);
        if (byteLength > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("tensor of " + array.length() + " " + wt.type
                    + " elements is " + byteLength + " bytes; a protobuf message holds < 2 GiB");
        }
        return byteLength;
    }

    /** Every field but {@code buffer}. */
    private static Tensor.Builder header(INDArray array, WireType wt, Modality modality,
                                         boolean requiresGrad) {
        Tensor.Builder out = Tensor.newBuilder()
                .setVersion(WIRE_VERSION)
                .setDtype(wt.wire)
                .setModality(modality)
                .setRequiresGrad(requiresGrad && modality != Modality.TEXT);
        for (long d : array.shape()) {
            out.addShape(d);
        }
        return out;
    }

    private static DataType wireTypeFor(DataType type, Modality modality) {
        switch (modality) {
            case IMAGE:
                return DataType.FLOAT;
            case TEXT:
                return DataType.INT64;
            case TENSOR:
                if (WireType.of(type) == null) {
                    throw new IllegalArgumentException("dtype " + type
                            + " cannot go on the wire; use FLOAT, DOUBLE, INT or LONG");
                }
                return type;
            default:
                throw new IllegalArgumentException("unrecognized modality " + modality);
        }
    }

    /**
     * The array's whole memory as a buffer, or null when the array is not exactly its buffer laid
     * out in C order (asNio spans the whole buffer and ignores a view's offset and strides).
     */
    private static ByteBuffer exactBytes(INDArray array, long byteLength) {
        if (array.ordering() != 'c' || array.offset() != 0 || !hasCStrides(array)) {
            return null;
        }
        ByteBuffer nio = array.data().asNio();
        return nio.capacity() == byteLength ? nio : null;
    }

    /**
     * True when the array is exactly its own buffer's elements in C order: what {@link
     * #exactBytes} checks, without making an NIO view (which costs JavaCPP lookups per call);
     * {@link NativeTensor#writeBuffer} checks the view's size when it makes one.
     */
    private static boolean isDense(INDArray array) {
        return array.ordering() == 'c' && array.offset() == 0
                && array.data().length() == array.length() && hasCStrides(array);
    }

    /** Strides of a dense C-ordered array; a dimension of size 1 may have any stride. */
    private static boolean hasCStrides(INDArray array) {
        long[] shape = array.shape();
        long[] stride = array.stride();
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && stride[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    // ------------------------------------------------------------------------------------ decode

    /** What a valid tensor holds, read without allocating anything sized by it. */
    public record Header(DataType dataType, Modality modality, long[] shape, long elementCount) {
        public Header {
            shape = shape.clone();
        }

        @Override
        public long[] shape() {
            return shape.clone();
        }
    }

    /**
     * Checks {@code tensor}'s dtype, modality, shape and buffer length against this codec's
     * limits without allocating anything sized by the tensor.
     *
     * @throws TensorDecodeException naming what is wrong
     */
    public Header inspect(Tensor tensor) {
        Objects.requireNonNull(tensor, "tensor");
        return inspect(tensor, tensor.getBuffer().size());
    }

    /**
     * {@link #inspect(Tensor)} of a tensor whose {@code buffer} is {@code bufferBytes} long and
     * kept elsewhere (a {@link WireTensor}'s native block); {@code tensor}'s own buffer is ignored.
     *
     * @throws TensorDecodeException naming what is wrong
     */
    public Header inspect(Tensor tensor, long bufferBytes) {
        Objects.requireNonNull(tensor, "tensor");
        WireType wt = WireType.ofWire(tensor.getDtypeValue());
        if (wt == null) {
            throw new TensorDecodeException(Reason.UNKNOWN_DTYPE, "dtype " + tensor.getDtype()
                    + " (" + tensor.getDtypeValue() + ") is not FLOAT32, FLOAT64, INT32 or INT64");
        }
        Modality modality = Modality.forNumber(tensor.getModalityValue());
        if (modality == null) {
            throw new TensorDecodeException(Reason.UNKNOWN_MODALITY,
                    "modality " + tensor.getModalityValue() + " is not TENSOR, IMAGE or TEXT");
        }
        if (modality == Modality.IMAGE && wt.type != DataType.FLOAT) {
            throw new TensorDecodeException(Reason.UNKNOWN_DTYPE,
                    "IMAGE tensors are FLOAT32 on the wire, got " + wt.wire);
        }
        int rank = tensor.getShapeCount();
        if (rank > limits.maxRank()) {
            throw new TensorDecodeException(Reason.BAD_SHAPE,
                    "rank " + rank + " exceeds the limit " + limits.maxRank());
        }
        long[] shape = new long[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++) {
            long d = tensor.getShape(i);
            if (d < 0) {
                throw new TensorDecodeException(Reason.BAD_SHAPE,
                        "dimension " + i + " is negative: " + d);
            }
            if (d > limits.maxElements()) {
                throw new TensorDecodeException(Reason.TOO_LARGE, "dimension " + i + " is " + d
                        + ", above the limit of " + limits.maxElements() + " elements");
            }
            shape[i] = d;
        }
        for (long d : shape) {
            try {
                elements = Math.multiplyExact(elements, d);
            } catch (ArithmeticException overflow) {
                throw new TensorDecodeException(Reason.TOO_LARGE,
                        "shape " + Arrays.toString(shape) + " has more than 2^63 elements");
            }
        }
        if (elements > limits.maxElements()) {
            throw new TensorDecodeException(Reason.TOO_LARGE, "shape " + Arrays.toString(shape)
                    + " has " + elements + " elements, above the limit of " + limits.maxElements());
        }
        long expected = elements * wt.elementSize; // <= maxElements * 8: fits, shape was bounded
        long actual = bufferBytes;
        if (actual != expected) {
            throw new TensorDecodeException(Reason.LENGTH_MISMATCH, "buffer is " + actual
                    + " bytes, but shape " + Arrays.toString(shape) + " of " + wt.wire + " needs "
                    + elements + " x " + wt.elementSize + " = " + expected);
        }
        return new Header(wt.type, modality, shape, elements);
    }

    /**
     * Decodes {@code tensor} into a new C-ordered array of its dtype and shape, owned by the caller
     * and outside any workspace. {@code requires_grad} is not part of the array; read it from the
     * tensor.
     *
     * @throws TensorDecodeException if the tensor is malformed or exceeds this codec's limits
     */
    @SuppressWarnings("try") // the workspace scope is only opened and closed
    public INDArray decode(Tensor tensor) {
        Header h = inspect(tensor);
        INDArray out;
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            out = Nd4j.createUninitialized(h.dataType(), h.shape, 'c');
        }
        copyIn(tensor.getBuffer(), out, h);
        return out;
    }

    /**
     * Decodes {@code tensor} into an array borrowed from {@code pool}: what {@link #decode} gives,
     * without a fresh native allocation once the pool holds that shape. Close the result to give
     * the array back; nothing may keep the array past that.
     *
     * @throws TensorDecodeException if the tensor is malformed or exceeds this codec's limits
     */
    public ArrayPool.PooledArray decode(Tensor tensor, ArrayPool pool) {
        Objects.requireNonNull(pool, "pool");
        Header h = inspect(tensor);
        ArrayPool.PooledArray out = pool.acquire(h.dataType(), h.shape);
        copyIn(tensor.getBuffer(), out.array(), h);
        return out;
    }

    /**
     * Decodes {@code wire} without copying: a new C-ordered array of its dtype and shape whose
     * memory is {@code wire}'s native block (little-endian on the wire, as the host is). The
     * array belongs to {@code wire}: valid until {@code wire} is closed, which releases it (ND4J
     * then refuses it) and gives the block back. Writing to it writes the block (nothing else
     * reads it). On a big-endian host the elements are swapped into a fresh array instead, which
     * {@code wire}'s close frees likewise.
     *
     * @throws TensorDecodeException if the header is malformed, exceeds this codec's limits or
     *                               does not match the byte length
     * @throws IllegalStateException if {@code wire} was closed
     */
    public INDArray decodeView(WireTensor wire) {
        Objects.requireNonNull(wire, "wire");
        Header h = inspect(wire.header(), wire.byteLength());
        if (NATIVE_LITTLE_ENDIAN || h.elementCount() == 0) {
            return wire.view(h.dataType(), h.shape, h.elementCount());
        }
        return wire.track(decode(wire)); // a swapped copy, freed when wire closes
    }

    /**
     * Decodes {@code wire} into a new array that the caller owns (one copy out of the block):
     * for results that outlive {@code wire}.
     *
     * @throws TensorDecodeException as {@link #decodeView}
     */
    @SuppressWarnings("try") // the workspace scope is only opened and closed
    public INDArray decode(WireTensor wire) {
        Objects.requireNonNull(wire, "wire");
        Header h = inspect(wire.header(), wire.byteLength());
        INDArray out;
        try (MemoryWorkspace ignored = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            out = Nd4j.createUninitialized(h.dataType(), h.shape, 'c');
        }
        copyOut(wire, out, h);
        return out;
    }

    /**
     * Decodes {@code wire} into an array borrowed from {@code pool} (one copy out of the block):
     * for small tensors, where ND4J's cost of a new array (~13 µs here) exceeds the copy's.
     *
     * @throws TensorDecodeException as {@link #decodeView}
     */
    public ArrayPool.PooledArray decode(WireTensor wire, ArrayPool pool) {
        Objects.requireNonNull(wire, "wire");
        Objects.requireNonNull(pool, "pool");
        Header h = inspect(wire.header(), wire.byteLength());
        ArrayPool.PooledArray out = pool.acquire(h.dataType(), h.shape);
        copyOut(wire, out.array(), h);
        return out;
    }

    private static void copyOut(WireTensor wire, INDArray out, Header h) {
        if (h.elementCount() > 0) {
            ByteBuffer dst = out.data().asNio();
            ByteBuffer src = wire.bytes();
            if (NATIVE_LITTLE_ENDIAN) {
                dst.put(src);
            } else {
                copyElements(src, ByteOrder.LITTLE_ENDIAN, dst, ByteOrder.nativeOrder(),
                        WireType.of(h.dataType()).elementSize);
            }
            Reference.reachabilityFence(out);
            Reference.reachabilityFence(wire);
        }
    }

    /**
     * Decodes {@code tensor} into {@code target}, which must already have the tensor's dtype and
     * shape and be a dense C-ordered array of its own buffer (such as an earlier result of
     * {@link #decode}). Saves the allocation when the same shape arrives again and again.
     *
     * @return {@code target}
     * @throws TensorDecodeException    if the tensor is malformed or exceeds this codec's limits
     * @throws IllegalArgumentException if {@code target} does not fit the tensor
     */
    public INDArray decodeInto(Tensor tensor, INDArray target) {
        Objects.requireNonNull(target, "target");
        Header h = inspect(tensor);
        if (target.dataType() != h.dataType() || !Arrays.equals(target.shape(), h.shape)) {
            throw new IllegalArgumentException("target is " + target.dataType()
                    + Arrays.toString(target.shape()) + " but the tensor is " + h.dataType()
                    + Arrays.toString(h.shape));
        }
        if (h.elementCount() > 0
                && exactBytes(target, h.elementCount() * WireType.of(h.dataType()).elementSize)
                == null) {
            throw new IllegalArgumentException(
                    "target must be a dense C-ordered array of its own buffer (dup('c') it)");
        }
        copyIn(tensor.getBuffer(), target, h);
        return target;
    }

    private static void copyIn(ByteString buffer, INDArray out, Header h) {
        if (h.elementCount() == 0) {
            return;
        }
        ByteBuffer dst = out.data().asNio();
        if (NATIVE_LITTLE_ENDIAN) {
            buffer.copyTo(dst);
        } else {
            copyElements(buffer.asReadOnlyByteBuffer(), ByteOrder.LITTLE_ENDIAN, dst,
                    ByteOrder.nativeOrder(), WireType.of(h.dataType()).elementSize);
        }
        Reference.reachabilityFence(out); // dst does not keep ND4J's buffer reachable
    }

    /**
     * Copies whole elements between buffers of possibly different byte order. Typed bulk puts let
     * the JDK do the swapping; ints and longs carry float bit patterns (NaN payloads included)
     * unchanged.
     */
    static void copyElements(ByteBuffer src, ByteOrder srcOrder, ByteBuffer dst,
                             ByteOrder dstOrder, int elementSize) {
        ByteBuffer s = src.duplicate().order(srcOrder);
        ByteBuffer d = dst.duplicate().order(dstOrder);
        if (elementSize == Integer.BYTES) {
            d.asIntBuffer().put(s.asIntBuffer());
        } else if (elementSize == Long.BYTES) {
            d.asLongBuffer().put(s.asLongBuffer());
        } else {
            throw new IllegalArgumentException("element size " + elementSize);
        }
    }

    /** The four dtypes the wire carries. */
    private enum WireType {
        FLOAT32(DataType.FLOAT, io.bittensor.proto.DataType.FLOAT32, 4),
        FLOAT64(DataType.DOUBLE, io.bittensor.proto.DataType.FLOAT64, 8),
        INT32(DataType.INT32, io.bittensor.proto.DataType.INT32, 4),
        INT64(DataType.INT64, io.bittensor.proto.DataType.INT64, 8);

        final DataType type;
        final io.bittensor.proto.DataType wire;
        final int elementSize;

        WireType(DataType type, io.bittensor.proto.DataType wire, int elementSize) {
            this.type = type;
            this.wire = wire;
            this.elementSize = elementSize;
        }

        static WireType of(DataType type) {
            for (WireType t : values()) {
                if (t.type == type) {
                    return t;
                }
            }
            return null;
        }

        static WireType ofWire(int number) {
            for (WireType t : values()) {
                if (t.wire.getNumber() == number) {
                    return t;
                }
            }
            return null;
        }
    }
}
