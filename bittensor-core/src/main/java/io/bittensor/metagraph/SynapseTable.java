package io.bittensor.metagraph;

import com.google.protobuf.ByteString;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.SynapseOrBuilder;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * The metagraph's synapse entries keyed by synapse_key, in compact form: one {@code byte[]} per
 * entry (see {@link SynapseRecord}) in an open-addressing table (linear probing, backward-shift
 * deletion, seeded hash so that chosen keys cannot pile up in one probe run).
 *
 * <p>This is storage only: it verifies nothing and applies no trust or size rules; the
 * {@link Metagraph} does, and serialises access (the table is not thread-safe). Public so that the
 * memory benchmark can fill it with a million entries without signing them.
 */
public final class SynapseTable {

    private static final VarHandle LONG_BE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final int MIN_CAPACITY = 16;

    private final long seed;
    private byte[][] slots;
    private int mask;
    private int size;
    private int localCount;

    /** An empty table whose hash is keyed by {@code seed}. */
    public SynapseTable(long seed) {
        this.seed = seed;
        this.slots = new byte[MIN_CAPACITY][];
        this.mask = MIN_CAPACITY - 1;
    }

    /** Number of entries, local ones included. */
    public int size() {
        return size;
    }

    /** Number of local (subscribed) entries. */
    public int localCount() {
        return localCount;
    }

    /**
     * Stores {@code s} as it is, with no checks, replacing any entry with the same synapse_key.
     * The original and expiry signatures are kept when present; proof_of_work is recomputed on
     * read, so it is dropped unless {@code proofChecked}.
     *
     * @param deadlineMs when the entry lapses: s.expires_at_ms if it has one
     * @throws IllegalArgumentException if a present signature is not 64 bytes, or the deadline
     *     disagrees with s.expires_at_ms
     */
    public void putUnchecked(SynapseOrBuilder s, long deadlineMs, boolean proofChecked) {
        int flags = (s.getSignature().isEmpty() ? 0 : SynapseRecord.FLAG_SIG)
                | (s.getExpiresAtMs() != 0 ? SynapseRecord.FLAG_EXPIRY : 0)
                | (proofChecked && !s.getProofOfWork().isEmpty() ? SynapseRecord.FLAG_POW : 0);
        if (s.getExpiresAtMs() != 0 && s.getExpiresAtMs() != deadlineMs) {
            throw new IllegalArgumentException("an entry with an owner expiry lapses at it");
        }
        put(SynapseRecord.encode(s, flags, deadlineMs));
    }

    /** The entry for {@code synapseKey}, rebuilt as a wire message. */
    public Optional<Synapse> get(String synapseKey) {
        byte[] r = get(SynapseRecord.keyField(ByteString.copyFromUtf8(synapseKey)));
        return r == null ? Optional.empty() : Optional.of(SynapseRecord.decode(r));
    }

    // ---------------------------------------------------------------- package API (records)

    byte[] get(byte[] keyField) {
        int i = find(keyField, 0, keyField.length);
        return i < 0 ? null : slots[i];
    }

    /** Inserts or replaces by key; returns the previous record or null. */
    byte[] put(byte[] record) {
        int keyEnd = SynapseRecord.keyEnd(record);
        int i = index(hash(record, SynapseRecord.KEY_OFFSET, keyEnd));
        while (slots[i] != null) {
            byte[] r = slots[i];
            if (sameKey(r, record, SynapseRecord.KEY_OFFSET, keyEnd)) {
                slots[i] = record;
                localCount += (SynapseRecord.isLocal(record) ? 1 : 0) - (SynapseRecord.isLocal(r) ? 1 : 0);
                return r;
            }
            i = (i + 1) & mask;
        }
        slots[i] = record;
        size++;
        localCount += SynapseRecord.isLocal(record) ? 1 : 0;
        if (size * 4L > slots.length * 3L) {
            resize(slots.length * 2);
        }
        return null;
    }

    /** Removes by key; returns the removed record or null. */
    byte[] remove(byte[] keyField) {
        int i = find(keyField, 0, keyField.length);
        if (i < 0) {
            return null;
        }
        byte[] r = slots[i];
        removeAt(i);
        return r;
    }

    /** Removes every record matching {@code which}; each removed record goes to {@code removed}. */
    int removeIf(Predicate<byte[]> which, Consumer<byte[]> removed) {
        List<byte[]> doomed = new ArrayList<>();
        for (byte[] r : slots) {
            if (r != null && which.test(r)) {
                doomed.add(r);
            }
        }
        for (byte[] r : doomed) {
            remove(Arrays.copyOfRange(r, SynapseRecord.KEY_OFFSET, SynapseRecord.keyEnd(r)));
            removed.accept(r);
        }
        maybeShrink();
        return doomed.size();
    }

    /**
     * Up to {@code k} non-local records with the earliest deadlines (the stalest), soonest first.
     * One pass with a bounded heap: O(n log k).
     */
    List<byte[]> stalest(int k) {
        if (k <= 0) {
            return List.of();
        }
        PriorityQueue<byte[]> latestFirst = new PriorityQueue<>(k,
                Comparator.comparingLong(SynapseRecord::deadline).reversed());
        for (byte[] r : slots) {
            if (r == null || SynapseRecord.isLocal(r)) {
                continue;
            }
            if (latestFirst.size() < k) {
                latestFirst.add(r);
            } else if (SynapseRecord.deadline(r) < SynapseRecord.deadline(latestFirst.peek())) {
                latestFirst.poll();
                latestFirst.add(r);
            }
        }
        List<byte[]> out = new ArrayList<>(latestFirst);
        out.sort(Comparator.comparingLong(SynapseRecord::deadline));
        return out;
    }

    /**
     * Up to {@code max} records matching {@code which}, walking the slots from a given start and
     * wrapping: with a random start this is a random window over a randomly ordered table.
     */
    List<byte[]> window(int start, int max, Predicate<byte[]> which) {
        List<byte[]> out = new ArrayList<>(Math.min(max, size));
        int n = slots.length;
        for (int j = 0; j < n && out.size() < max; j++) {
            byte[] r = slots[(start + j) & mask];
            if (r != null && which.test(r)) {
                out.add(r);
            }
        }
        return out;
    }

    /** Current slot count (a power of two): the range for {@link #window}'s start. */
    int capacity() {
        return slots.length;
    }

    // ---------------------------------------------------------------- hashing

    private int find(byte[] key, int from, int to) {
        int i = index(hash(key, from, to));
        while (slots[i] != null) {
            if (sameKey(slots[i], key, from, to)) {
                return i;
            }
            i = (i + 1) & mask;
        }
        return -1;
    }

    private static boolean sameKey(byte[] record, byte[] key, int from, int to) {
        int end = SynapseRecord.keyEnd(record);
        return Arrays.equals(record, SynapseRecord.KEY_OFFSET, end, key, from, to);
    }

    private int home(byte[] record) {
        return index(hash(record, SynapseRecord.KEY_OFFSET, SynapseRecord.keyEnd(record)));
    }

    private int index(long h) {
        return (int) (h ^ (h >>> 32)) & mask;
    }

    /** A seeded 64-bit mix over the key bytes (keys are attacker-chosen; the seed is not). */
    private long hash(byte[] a, int from, int to) {
        long h = seed ^ ((to - from) * 0x9E3779B97F4A7C15L);
        int i = from;
        for (; i + 8 <= to; i += 8) {
            h = Long.rotateLeft(h ^ mix((long) LONG_BE.get(a, i)), 29) * 0x9E3779B97F4A7C15L;
        }
        for (; i < to; i++) {
            h = (h ^ (a[i] & 0xff)) * 0x100000001B3L;
        }
        return mix(h);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    private void removeAt(int i) {
        byte[] gone = slots[i];
        slots[i] = null;
        size--;
        localCount -= SynapseRecord.isLocal(gone) ? 1 : 0;
        // Backward-shift deletion: pull later members of the probe run into the hole.
        int hole = i;
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            byte[] r = slots[j];
            if (r == null) {
                return;
            }
            int k = home(r);
            boolean stays = hole <= j ? (hole < k && k <= j) : (hole < k || k <= j);
            if (!stays) {
                slots[hole] = r;
                slots[j] = null;
                hole = j;
            }
        }
    }

    private void maybeShrink() {
        if (slots.length > MIN_CAPACITY && size * 8L < slots.length) {
            resize(Math.max(MIN_CAPACITY, Integer.highestOneBit(Math.max(1, size * 2)) * 2));
        }
    }

    private void resize(int capacity) {
        byte[][] old = slots;
        slots = new byte[capacity][];
        mask = capacity - 1;
        for (byte[] r : old) {
            if (r != null) {
                int i = home(r);
                while (slots[i] != null) {
                    i = (i + 1) & mask;
                }
                slots[i] = r;
            }
        }
    }
}
