package io.bittensor.training;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Model checkpoints: named arrays (parameters, optimizer state) plus string metadata, in one file
 * that is written atomically (temporary file, fsync, atomic rename: a crash leaves the old file or
 * the new one, never a mix) and checked by SHA-256 on load (a damaged file is a clear error, never
 * garbage weights).
 *
 * <p>Format (big-endian framing, little-endian element data): magic {@code "BTCKPT01"}; metadata
 * count, then UTF key/value pairs; array count, then per array its UTF name, dtype name, rank,
 * shape, byte length and elements in C order; finally the SHA-256 of everything before it.
 *
 * <p>Only variables are stored, not the graph: the model's code rebuilds its graph and
 * {@link #restore restores} values by name, which survives refactoring and ND4J upgrades better
 * than a serialized graph.
 */
public final class Checkpoints {
    private static final byte[] MAGIC = "BTCKPT01".getBytes(StandardCharsets.US_ASCII);
    private static final int HASH_BYTES = 32;
    // Bounds that a damaged header cannot push us past (the hash catches the rest).
    private static final int MAX_ENTRIES = 1 << 20;
    private static final int MAX_RANK = 8;

    private Checkpoints() {}

    /** A loaded checkpoint: arrays by name (insertion order kept) and metadata. */
    public record Checkpoint(Map<String, INDArray> arrays, Map<String, String> metadata) {
        public Checkpoint {
            arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /** Saves arrays and metadata to {@code file} atomically, creating its directory if needed. */
    public static void save(Path file, Map<String, INDArray> arrays, Map<String, String> metadata) throws IOException {
        AtomicFiles.write(file, encode(arrays, metadata));
    }

    /** Saves every trainable variable of a SameDiff graph (by name) with metadata. */
    public static void save(Path file, SameDiff sd, Map<String, String> metadata) throws IOException {
        save(file, variables(sd), metadata);
    }

    /**
     * Loads a checkpoint.
     *
     * @throws CheckpointException if the file is missing, unreadable, not a checkpoint, or damaged
     */
    public static Checkpoint load(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new CheckpointException("checkpoint " + file + " does not exist");
        } catch (IOException e) {
            throw new CheckpointException("cannot read checkpoint " + file + ": " + e.getMessage(), e);
        }
        if (bytes.length < MAGIC.length + HASH_BYTES
                || !Arrays.equals(Arrays.copyOf(bytes, MAGIC.length), MAGIC)) {
            throw new CheckpointException("file " + file + " is not a bittensor checkpoint"
                    + " (pass another --model_path, or delete it to start afresh)");
        }
        int body = bytes.length - HASH_BYTES;
        byte[] expected = Arrays.copyOfRange(bytes, body, bytes.length);
        if (!MessageDigest.isEqual(expected, sha256(bytes, body))) {
            throw new CheckpointException("checkpoint " + file + " is corrupt (checksum mismatch): it was damaged"
                    + " after it was written; pass another --model_path, or delete it to start afresh");
        }
        try {
            return decode(bytes, body);
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException("checkpoint " + file + " is malformed (" + e.getMessage()
                    + "); pass another --model_path, or delete it to start afresh", e);
        }
    }

    /**
     * Assigns every trainable variable of {@code sd} from the checkpoint.
     *
     * @throws CheckpointException naming the first variable that is missing or has another shape
     *                             (nothing is changed then)
     */
    public static void restore(Checkpoint checkpoint, SameDiff sd) {
        Map<String, INDArray> vars = variables(sd);
        for (Map.Entry<String, INDArray> e : vars.entrySet()) {
            INDArray saved = checkpoint.arrays().get(e.getKey());
            if (saved == null) {
                throw new CheckpointException("checkpoint lacks variable " + e.getKey() + ": it belongs to another model");
            }
            if (!Arrays.equals(saved.shape(), e.getValue().shape())) {
                throw new CheckpointException("checkpoint variable " + e.getKey() + " has shape "
                        + Arrays.toString(saved.shape()) + ", the model needs " + Arrays.toString(e.getValue().shape()));
            }
        }
        vars.forEach((name, arr) -> arr.assign(checkpoint.arrays().get(name)));
    }

    private static Map<String, INDArray> variables(SameDiff sd) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (SDVariable v : sd.variables()) {
            if (v.getVariableType() == VariableType.VARIABLE) {
                out.put(v.name(), v.getArr());
            }
        }
        return out;
    }

    static byte[] encode(Map<String, INDArray> arrays, Map<String, String> metadata) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bos);
            out.write(MAGIC);
            out.writeInt(metadata.size());
            for (Map.Entry<String, String> e : metadata.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeUTF(e.getValue());
            }
            out.writeInt(arrays.size());
            for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
                INDArray a = e.getValue();
                DataType t = a.dataType();
                int size = elementSize(t, e.getKey());
                out.writeUTF(e.getKey());
                out.writeUTF(t.name());
                out.writeInt(a.rank());
                for (long d : a.shape()) {
                    out.writeLong(d);
                }
                ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(Math.toIntExact(a.length()), size))
                        .order(ByteOrder.LITTLE_ENDIAN);
                INDArray c = a.dup('c');
                switch (t) {
                    case FLOAT -> buf.asFloatBuffer().put(c.data().asFloat());
                    case DOUBLE -> buf.asDoubleBuffer().put(c.data().asDouble());
                    case INT -> buf.asIntBuffer().put(c.data().asInt());
                    default -> buf.asLongBuffer().put(c.data().asLong());
                }
                out.writeLong(buf.capacity());
                out.write(buf.array());
            }
            out.flush();
            byte[] body = bos.toByteArray();
            bos.write(sha256(body, body.length));
            return bos.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("in-memory write failed", e);
        }
    }

    private static Checkpoint decode(byte[] bytes, int length) throws IOException {
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes, MAGIC.length, length - MAGIC.length));
        try {
            Map<String, String> meta = new LinkedHashMap<>();
            int nMeta = count(in.readInt(), "metadata entries");
            for (int i = 0; i < nMeta; i++) {
                meta.put(in.readUTF(), in.readUTF());
            }
            Map<String, INDArray> arrays = new LinkedHashMap<>();
            int nArrays = count(in.readInt(), "arrays");
            for (int i = 0; i < nArrays; i++) {
                String name = in.readUTF();
                DataType t = DataType.valueOf(in.readUTF());
                int size = elementSize(t, name);
                int rank = in.readInt();
                if (rank < 0 || rank > MAX_RANK) {
                    throw new IOException("array " + name + " has rank " + rank);
                }
                long[] shape = new long[rank];
                long n = 1;
                for (int d = 0; d < rank; d++) {
                    shape[d] = in.readLong();
                    if (shape[d] < 0) {
                        throw new IOException("array " + name + " has a negative dimension");
                    }
                    n = Math.multiplyExact(n, shape[d]);
                }
                long byteLen = in.readLong();
                if (byteLen != n * size || byteLen > in.available()) {
                    throw new IOException("array " + name + " has " + byteLen + " bytes for shape " + Arrays.toString(shape));
                }
                byte[] data = new byte[(int) byteLen];
                in.readFully(data);
                ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
                arrays.put(name, switch (t) {
                    case FLOAT -> {
                        float[] v = new float[(int) n];
                        buf.asFloatBuffer().get(v);
                        yield Nd4j.create(v, shape, DataType.FLOAT);
                    }
                    case DOUBLE -> {
                        double[] v = new double[(int) n];
                        buf.asDoubleBuffer().get(v);
                        yield Nd4j.create(v, shape, DataType.DOUBLE);
                    }
                    case INT -> {
                        int[] v = new int[(int) n];
                        buf.asIntBuffer().get(v);
                        yield Nd4j.createFromArray(v).reshape(shape);
                    }
                    default -> {
                        long[] v = new long[(int) n];
                        buf.asLongBuffer().get(v);
                        yield Nd4j.createFromArray(v).reshape(shape);
                    }
                });
            }
            if (in.available() != 0) {
                throw new IOException(in.available() + " stray bytes after the last array");
            }
            return new Checkpoint(arrays, meta);
        } catch (EOFException e) {
            throw new IOException("it ends early", e);
        }
    }

    private static int count(int n, String what) throws IOException {
        if (n < 0 || n > MAX_ENTRIES) {
            throw new IOException("implausible number of " + what + ": " + n);
        }
        return n;
    }

    private static int elementSize(DataType t, String name) {
        return switch (t) {
            case FLOAT, INT -> 4;
            case DOUBLE, LONG -> 8;
            default -> throw new IllegalArgumentException("array " + name + " has data type " + t
                    + "; checkpoints hold FLOAT, DOUBLE, INT and LONG");
        };
    }

    private static byte[] sha256(byte[] bytes, int length) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(bytes, 0, length);
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK lacks SHA-256", e);
        }
    }
}
