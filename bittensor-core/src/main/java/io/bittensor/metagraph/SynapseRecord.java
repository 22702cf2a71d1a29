package io.bittensor.metagraph;

import com.google.protobuf.ByteString;
import io.bittensor.crypto.ProofOfWork;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.SynapseOrBuilder;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * One synapse entry packed into a single {@code byte[]}: no proto object, no Strings per entry.
 *
 * <pre>
 * [0]       flags (LOCAL, SIG, EXPIRY, POW)
 * [1..8]    deadline, ms since the epoch (big-endian): the owner's signed expires_at_ms when
 *           EXPIRY is set, else our local deadline (last receipt + ttl)
 * [9..]     synapse_key, neuron_key   canonical "0x"+64 lowercase hex: 0, then 32 raw bytes
 *           address                   canonical dotted IPv4: 0, then 4 bytes
 *           port                      canonical decimal 0..65535: 0, then 2 bytes
 *           version                   "0.0.0": 0
 *                                     otherwise each: varint(length + 1), then the UTF-8 as received
 *           block_hash                varint(length), then the UTF-8
 *           nounce                    varint
 *           serves                    when SERVES: varint(length), then field 28 as on the wire
 *           signature                 64 bytes, when SIG
 *           expiry_signature          64 bytes, when EXPIRY
 * </pre>
 *
 * <p>Strings are kept as the exact bytes received so the digest (and so both signatures) of a
 * relayed entry is unchanged. proof_of_work is not stored: it is a pure function of the fields and
 * the nounce, checked on absorb and recomputed ({@link ProofOfWork#proofFor}) when the entry is
 * sent on.
 */
final class SynapseRecord {

    static final int FLAG_LOCAL = 1;
    static final int FLAG_SIG = 2;
    static final int FLAG_EXPIRY = 4;
    static final int FLAG_POW = 8;
    static final int FLAG_SERVES = 16;
    /** Entries that carry an owner signature of some kind. */
    static final int AUTHENTICATED = FLAG_SIG | FLAG_EXPIRY;

    static final int KEY_OFFSET = 9;
    static final int SIG_BYTES = 64;
    static final String DEFAULT_VERSION = "0.0.0";

    private static final int KEY_BYTES = 32;
    private static final byte[] DEFAULT_VERSION_BYTES =
            DEFAULT_VERSION.getBytes(StandardCharsets.US_ASCII);
    private static final VarHandle LONG_BE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final byte[] HEX = "0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    private SynapseRecord() {
    }

    // ---------------------------------------------------------------- encode

    /**
     * Packs {@code s}. The caller decides the flags: SIG stores s.signature, EXPIRY stores
     * s.expiry_signature (and then {@code deadline} must be s.expires_at_ms), POW marks a proof
     * that was checked and will be recomputed on send.
     */
    static byte[] encode(SynapseOrBuilder s, int flags, long deadline) {
        ByteString sk = s.getSynapseKeyBytes();
        ByteString nk = s.getNeuronKeyBytes();
        ByteString addr = s.getAddressBytes();
        ByteString port = s.getPortBytes();
        ByteString ver = s.getVersionBytes();
        ByteString bh = s.getBlockHashBytes();
        int nounce = s.getNounce();
        // Flags follow the entry, whatever the caller passed, for what it serves.
        flags &= ~FLAG_SERVES;
        byte[] serves = null;
        if (s.getServesCount() > 0) {
            flags |= FLAG_SERVES;
            serves = Synapse.newBuilder().addAllServes(s.getServesList()).build().toByteArray();
        }
        int len = (serves == null ? 0 : varintLength(serves.length) + serves.length) + KEY_OFFSET + keyLength(sk) + keyLength(nk) + addressLength(addr)
                + portLength(port) + versionLength(ver) + varintLength(bh.size()) + bh.size()
                + varintLength(nounce);
        if ((flags & FLAG_SIG) != 0) {
            requireSig(s.getSignature(), "signature");
            len += SIG_BYTES;
        }
        if ((flags & FLAG_EXPIRY) != 0) {
            requireSig(s.getExpirySignature(), "expiry_signature");
            len += SIG_BYTES;
        }
        byte[] r = new byte[len];
        r[0] = (byte) flags;
        LONG_BE.set(r, 1, deadline);
        int p = writeKey(r, KEY_OFFSET, sk);
        p = writeKey(r, p, nk);
        p = writeAddress(r, p, addr);
        p = writePort(r, p, port);
        p = writeVersion(r, p, ver);
        p = writeVarint(r, p, bh.size());
        bh.copyTo(r, p);
        p += bh.size();
        p = writeVarint(r, p, nounce);
        if (serves != null) {
            p = writeVarint(r, p, serves.length);
            System.arraycopy(serves, 0, r, p, serves.length);
            p += serves.length;
        }
        if ((flags & FLAG_SIG) != 0) {
            s.getSignature().copyTo(r, p);
            p += SIG_BYTES;
        }
        if ((flags & FLAG_EXPIRY) != 0) {
            s.getExpirySignature().copyTo(r, p);
            p += SIG_BYTES;
        }
        assert p == len;
        return r;
    }

    /** The encoded synapse_key field alone: what the table hashes and compares. */
    static byte[] keyField(ByteString synapseKey) {
        byte[] k = new byte[keyLength(synapseKey)];
        writeKey(k, 0, synapseKey);
        return k;
    }

    // ---------------------------------------------------------------- read

    static int flags(byte[] r) {
        return r[0];
    }

    static boolean isLocal(byte[] r) {
        return (r[0] & FLAG_LOCAL) != 0;
    }

    static boolean hasExpiry(byte[] r) {
        return (r[0] & FLAG_EXPIRY) != 0;
    }

    static boolean isAuthenticated(byte[] r) {
        return (r[0] & AUTHENTICATED) != 0;
    }

    static long deadline(byte[] r) {
        return (long) LONG_BE.get(r, 1);
    }

    /** End (exclusive) of the synapse_key field, which starts at {@link #KEY_OFFSET}. */
    static int keyEnd(byte[] r) {
        return skipVar(r, KEY_OFFSET, KEY_BYTES);
    }

    /** Whether both records name the same neuron_key. */
    static boolean sameNeuronKey(byte[] a, byte[] b) {
        int a0 = keyEnd(a);
        int b0 = keyEnd(b);
        return Arrays.equals(a, a0, skipVar(a, a0, KEY_BYTES), b, b0, skipVar(b, b0, KEY_BYTES));
    }

    /**
     * Whether both records carry the same entry apart from the expiry: same fields, nounce,
     * proof and stored signature. Such an entry needs only its expiry signature checked.
     */
    static boolean sameIdentity(byte[] a, byte[] b) {
        int mask = FLAG_SIG | FLAG_POW;
        return (a[0] & mask) == (b[0] & mask)
                && Arrays.equals(a, KEY_OFFSET, identityEnd(a), b, KEY_OFFSET, identityEnd(b));
    }

    private static int identityEnd(byte[] r) {
        return r.length - (hasExpiry(r) ? SIG_BYTES : 0);
    }

    /** The synapse_key as text (for the weights map and logs). */
    static String synapseKey(byte[] r) {
        return readString(r, KEY_OFFSET, KEY_BYTES).toStringUtf8();
    }

    /** Rebuilds the wire entry, proof of work recomputed. */
    static Synapse decode(byte[] r) {
        int flags = r[0];
        Synapse.Builder b = Synapse.newBuilder();
        int p = KEY_OFFSET;
        b.setSynapseKeyBytes(readString(r, p, KEY_BYTES));
        p = skipVar(r, p, KEY_BYTES);
        b.setNeuronKeyBytes(readString(r, p, KEY_BYTES));
        p = skipVar(r, p, KEY_BYTES);
        b.setAddressBytes(readString(r, p, 4));
        p = skipVar(r, p, 4);
        b.setPortBytes(readString(r, p, 2));
        p = skipVar(r, p, 2);
        if (r[p] == 0) {
            b.setVersion(DEFAULT_VERSION);
            p++;
        } else {
            int n = (int) readVarint(r, p) - 1;
            p += varintLength(n + 1);
            b.setVersionBytes(ByteString.copyFrom(r, p, n));
            p += n;
        }
        int bhLen = (int) readVarint(r, p);
        p += varintLength(bhLen);
        b.setBlockHashBytes(ByteString.copyFrom(r, p, bhLen));
        p += bhLen;
        long nounce = readVarint(r, p);
        b.setNounce((int) nounce);
        p += varintLength((int) nounce);
        if ((flags & FLAG_SERVES) != 0) {
            int n = (int) readVarint(r, p);
            p += varintLength(n);
            try {
                b.mergeFrom(r, p, n);
            } catch (com.google.protobuf.InvalidProtocolBufferException e) {
                throw new IllegalStateException("a stored record is corrupt", e);
            }
            p += n;
        }
        if ((flags & FLAG_POW) != 0) {
            b.setProofOfWork(ByteString.copyFrom(ProofOfWork.proofFor(b)));
        }
        if ((flags & FLAG_SIG) != 0) {
            b.setSignature(ByteString.copyFrom(r, p, SIG_BYTES));
            p += SIG_BYTES;
        }
        if ((flags & FLAG_EXPIRY) != 0) {
            b.setExpiresAtMs(deadline(r));
            b.setExpirySignature(ByteString.copyFrom(r, p, SIG_BYTES));
        }
        return b.build();
    }

    // ---------------------------------------------------------------- field codecs

    private static void requireSig(ByteString sig, String what) {
        if (sig.size() != SIG_BYTES) {
            throw new IllegalArgumentException(what + " must be " + SIG_BYTES + " bytes to store");
        }
    }

    private static boolean canonicalKey(ByteString s) {
        if (s.size() != 2 + 2 * KEY_BYTES || s.byteAt(0) != '0' || s.byteAt(1) != 'x') {
            return false;
        }
        for (int i = 2; i < s.size(); i++) {
            if (hexValue(s.byteAt(i)) < 0) {
                return false;
            }
        }
        return true;
    }

    /** Lowercase hex digits only: an uppercase key must be sent back as it came. */
    private static int hexValue(byte c) {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    }

    private static int keyLength(ByteString s) {
        return canonicalKey(s) ? 1 + KEY_BYTES : rawLength(s);
    }

    private static int writeKey(byte[] r, int p, ByteString s) {
        if (!canonicalKey(s)) {
            return writeRaw(r, p, s);
        }
        r[p++] = 0;
        for (int i = 0; i < KEY_BYTES; i++) {
            r[p++] = (byte) (hexValue(s.byteAt(2 + 2 * i)) << 4 | hexValue(s.byteAt(3 + 2 * i)));
        }
        return p;
    }

    /** The 4 bytes of a dotted IPv4 address written without leading zeros, or null. */
    private static byte[] canonicalIpv4(ByteString s) {
        if (s.size() < 7 || s.size() > 15) {
            return null;
        }
        byte[] out = new byte[4];
        int part = 0;
        int value = 0;
        int digits = 0;
        for (int i = 0; i <= s.size(); i++) {
            byte c = i < s.size() ? s.byteAt(i) : (byte) '.';
            if (c == '.') {
                if (digits == 0 || part > 3) {
                    return null;
                }
                out[part++] = (byte) value;
                value = 0;
                digits = 0;
            } else if (c >= '0' && c <= '9') {
                if (digits > 0 && value == 0) {
                    return null; // leading zero: would not round-trip
                }
                value = value * 10 + (c - '0');
                digits++;
                if (value > 255) {
                    return null;
                }
            } else {
                return null;
            }
        }
        return part == 4 ? out : null;
    }

    private static int addressLength(ByteString s) {
        return canonicalIpv4(s) != null ? 5 : rawLength(s);
    }

    private static int writeAddress(byte[] r, int p, ByteString s) {
        byte[] ip = canonicalIpv4(s);
        if (ip == null) {
            return writeRaw(r, p, s);
        }
        r[p] = 0;
        System.arraycopy(ip, 0, r, p + 1, 4);
        return p + 5;
    }

    /** A decimal port 0..65535 written without leading zeros, or -1. */
    private static int canonicalPort(ByteString s) {
        if (s.isEmpty() || s.size() > 5 || (s.size() > 1 && s.byteAt(0) == '0')) {
            return -1;
        }
        int v = 0;
        for (int i = 0; i < s.size(); i++) {
            byte c = s.byteAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
            v = v * 10 + (c - '0');
        }
        return v <= 0xffff ? v : -1;
    }

    private static int portLength(ByteString s) {
        return canonicalPort(s) >= 0 ? 3 : rawLength(s);
    }

    private static int writePort(byte[] r, int p, ByteString s) {
        int v = canonicalPort(s);
        if (v < 0) {
            return writeRaw(r, p, s);
        }
        r[p] = 0;
        r[p + 1] = (byte) (v >>> 8);
        r[p + 2] = (byte) v;
        return p + 3;
    }

    private static boolean defaultVersion(ByteString s) {
        return s.size() == DEFAULT_VERSION_BYTES.length
                && s.equals(ByteString.copyFrom(DEFAULT_VERSION_BYTES));
    }

    private static int versionLength(ByteString s) {
        return defaultVersion(s) ? 1 : rawLength(s);
    }

    private static int writeVersion(byte[] r, int p, ByteString s) {
        if (!defaultVersion(s)) {
            return writeRaw(r, p, s);
        }
        r[p] = 0;
        return p + 1;
    }

    private static int rawLength(ByteString s) {
        return varintLength(s.size() + 1) + s.size();
    }

    private static int writeRaw(byte[] r, int p, ByteString s) {
        p = writeVarint(r, p, s.size() + 1);
        s.copyTo(r, p);
        return p + s.size();
    }

    /**
     * Reads a key/address/port field at {@code p}: compact form ({@code compactBytes} after a 0
     * byte) back to its text, or the raw bytes.
     */
    private static ByteString readString(byte[] r, int p, int compactBytes) {
        if (r[p] != 0) {
            int n = (int) readVarint(r, p) - 1;
            return ByteString.copyFrom(r, p + varintLength(n + 1), n);
        }
        switch (compactBytes) {
            case KEY_BYTES: {
                byte[] hex = new byte[2 + 2 * KEY_BYTES];
                hex[0] = '0';
                hex[1] = 'x';
                for (int i = 0; i < KEY_BYTES; i++) {
                    int v = r[p + 1 + i] & 0xff;
                    hex[2 + 2 * i] = HEX[v >>> 4];
                    hex[3 + 2 * i] = HEX[v & 0xf];
                }
                return ByteString.copyFrom(hex);
            }
            case 4:
                return ByteString.copyFromUtf8((r[p + 1] & 0xff) + "." + (r[p + 2] & 0xff) + "."
                        + (r[p + 3] & 0xff) + "." + (r[p + 4] & 0xff));
            case 2:
                return ByteString.copyFromUtf8(
                        Integer.toString((r[p + 1] & 0xff) << 8 | (r[p + 2] & 0xff)));
            default:
                throw new IllegalArgumentException("no compact form of " + compactBytes + " bytes");
        }
    }

    private static int skipVar(byte[] r, int p, int compactBytes) {
        if (r[p] == 0) {
            return p + 1 + compactBytes;
        }
        int n = (int) readVarint(r, p) - 1;
        return p + varintLength(n + 1) + n;
    }

    static int varintLength(int v) {
        long u = v & 0xffffffffL;
        int n = 1;
        while (u >= 0x80) {
            u >>>= 7;
            n++;
        }
        return n;
    }

    private static int writeVarint(byte[] r, int p, int v) {
        long u = v & 0xffffffffL;
        while (u >= 0x80) {
            r[p++] = (byte) (u | 0x80);
            u >>>= 7;
        }
        r[p++] = (byte) u;
        return p;
    }

    private static long readVarint(byte[] r, int p) {
        long v = 0;
        int shift = 0;
        while (true) {
            byte b = r[p++];
            v |= (long) (b & 0x7f) << shift;
            if (b >= 0) {
                return v;
            }
            shift += 7;
        }
    }
}
