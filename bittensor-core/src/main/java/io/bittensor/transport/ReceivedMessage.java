package io.bittensor.transport;

import io.bittensor.proto.TensorMessage;
import io.bittensor.tensor.WireTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A received {@code TensorMessage} whose tensor bytes are on loan from a pool: decode them, then
 * {@link #close()} to give them back. Two kinds:
 * <ul>
 *   <li><b>heap</b> ({@link PooledMessageMarshaller}): the whole message was parsed from a pooled
 *   heap buffer with aliasing on, so each tensor's {@code buffer} is a view of it. After close the
 *   buffer holds the next message's bytes, so {@link #message()} refuses, and whoever held on to
 *   the message itself must not read its tensors (or signature) any more. Strings and numbers are
 *   copies and stay valid. Arrays decoded from the tensors are native copies.</li>
 *   <li><b>native</b> ({@link NativeMessageMarshaller}): each tensor's bytes were received straight
 *   into a native block of its own, a {@link WireTensor} ({@link #tensor(int)}); {@link #header()}
 *   has every field, the tensors' without their {@code buffer}. A view decoded from a wire tensor
 *   ({@code TensorCodec.decodeView}) is valid until that tensor is closed: by this message's close,
 *   unless {@link #take(int)} moved it to a new owner first.</li>
 * </ul>
 */
public final class ReceivedMessage implements AutoCloseable {
    private final TensorMessage message; // native: the header (tensors without buffer)
    private final ParseBuffers.Lease lease; // heap: null when the message owns its bytes
    private final List<WireTensor> wires; // native: one per tensor (null once taken); else null
    private final int wireLength;
    private boolean closed;

    ReceivedMessage(TensorMessage message, ParseBuffers.Lease lease, int wireLength) {
        this.message = Objects.requireNonNull(message, "message");
        this.lease = lease;
        this.wires = null;
        this.wireLength = wireLength;
    }

    ReceivedMessage(TensorMessage header, List<WireTensor> wires, int wireLength) {
        this.message = Objects.requireNonNull(header, "header");
        this.lease = null;
        this.wires = new ArrayList<>(wires);
        this.wireLength = wireLength;
        if (header.getTensorsCount() != wires.size()) {
            throw new IllegalArgumentException(header.getTensorsCount() + " tensors, " + wires.size() + " payloads");
        }
    }

    /** A message that owns its bytes (close does nothing): tests, other transports. */
    public static ReceivedMessage of(TensorMessage message) {
        return new ReceivedMessage(message, (ParseBuffers.Lease) null, message.getSerializedSize());
    }

    /**
     * The whole message; valid until {@link #close()}. For a native message this copies every
     * tensor's bytes to the heap (for code that needs a {@code TensorMessage}; hot paths read
     * {@link #header()} and {@link #tensor(int)}).
     *
     * @throws IllegalStateException after close, or (native) once a tensor was taken
     */
    public synchronized TensorMessage message() {
        checkOpen();
        if (wires == null) {
            return message;
        }
        TensorMessage.Builder b = message.toBuilder().clearTensors();
        for (int i = 0; i < wires.size(); i++) {
            b.addTensors(tensor(i).toTensor());
        }
        return b.build();
    }

    /**
     * Every field of the message, without copying: for a native message the tensors lack their
     * {@code buffer} (read it through {@link #tensor(int)}); for a heap one this is
     * {@link #message()}. Strings and numbers stay valid after close.
     */
    public TensorMessage header() {
        return message;
    }

    /** True when the tensors' bytes are in native blocks ({@link #tensor(int)}). */
    public boolean isNative() {
        return wires != null;
    }

    /**
     * Tensor {@code i}'s bytes in native memory, owned by this message until it closes.
     *
     * @throws IllegalStateException for a heap message, after close, or once taken
     */
    public synchronized WireTensor tensor(int i) {
        checkOpen();
        if (wires == null) {
            throw new IllegalStateException("a heap-parsed message: read message().getTensors(i)");
        }
        WireTensor w = wires.get(i);
        if (w == null) {
            throw new IllegalStateException("tensor " + i + " was taken");
        }
        return w;
    }

    /**
     * Moves tensor {@code i} (and the views decoded from it) to the caller, who must close it:
     * this message's close no longer does.
     */
    public synchronized WireTensor take(int i) {
        WireTensor w = tensor(i);
        wires.set(i, null);
        return w;
    }

    private void checkOpen() {
        if (closed || (lease != null && lease.isClosed())) {
            throw new IllegalStateException("the message's buffer was given back to its pool");
        }
    }

    /** The message's size on the wire. */
    public int wireLength() {
        return wireLength;
    }

    /** Gives the bytes back (tensors not taken, and their views, are released); idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (lease != null) {
            lease.close();
        }
        if (wires != null) {
            for (WireTensor w : wires) {
                if (w != null) {
                    w.close();
                }
            }
        }
    }
}
