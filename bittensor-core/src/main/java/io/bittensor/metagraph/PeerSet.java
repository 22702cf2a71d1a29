package io.bittensor.metagraph;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * The known gossip peers: bounded, with O(1) random choice. Bootstrap peers are never dropped;
 * after a failed exchange they wait an exponentially growing time (one interval, doubling, capped)
 * before the next try. Any other peer is dropped after a failed exchange, as in the original, and
 * quarantined for a while so that others mentioning it do not bring it straight back.
 *
 * <p>One peer, one entry: an address whose reply proved a neuron key ({@link #identify}) is bound
 * to it; a second address proving a key already held is dropped (the bootstrap address is the
 * one kept) and remembered as an alias, so gossip naming it again does not bring it back while the
 * peer is held under the other address. An address proving our own key is ourselves.
 *
 * <p>Each peer carries the time of the latest evidence that it was alive (a successful exchange,
 * or a Java peer's view entry with its age). A peer without evidence younger than {@code ttlMs}
 * leaves at the next {@link #expire} (bootstraps excepted), so a dead peer leaves every view at
 * most {@code ttlMs} after it died, whoever still mentions it. Thread-safe.
 */
final class PeerSet {

    private static final class Backoff {
        int failures;
        long nextAttemptMs;
        boolean reached;
    }

    private final int maxPeers;
    private final long backoffBaseMs;
    private final long backoffMaxMs;
    private final long quarantineMs;
    private final long ttlMs;
    private final List<String> list = new ArrayList<>();
    private final Map<String, Integer> index = new HashMap<>();
    // Latest evidence of life per peer, ms; NO_EVIDENCE for a bootstrap never reached.
    private final Map<String, Long> seen = new HashMap<>();
    private final Map<String, Backoff> bootstraps = new LinkedHashMap<>();
    private final Map<String, Long> quarantine;
    /** Proven neuron key of a listed address, and the listed address holding each proven key. */
    private final Map<String, String> keyOf = new HashMap<>();
    private final Map<String, String> holderOf = new HashMap<>();
    /** Addresses dropped as another address of a proven key (bounded, oldest out). */
    private final Map<String, String> aliases;
    private String self;
    private String selfKey;

    static final long NO_EVIDENCE = Long.MIN_VALUE / 2;

    /** A peer and how long ago we last had evidence that it was alive. */
    record Aged(String address, long ageMs) {
    }

    /** Peers never expire (tests of the other rules). */
    PeerSet(int maxPeers, long backoffBaseMs, long backoffMaxMs, long quarantineMs) {
        this(maxPeers, backoffBaseMs, backoffMaxMs, quarantineMs, Long.MAX_VALUE / 4);
    }

    PeerSet(int maxPeers, long backoffBaseMs, long backoffMaxMs, long quarantineMs, long ttlMs) {
        this.ttlMs = ttlMs;
        this.maxPeers = maxPeers;
        this.backoffBaseMs = backoffBaseMs;
        this.backoffMaxMs = backoffMaxMs;
        this.quarantineMs = quarantineMs;
        this.quarantine = new LinkedHashMap<>(16, 0.75f, false) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Long> eldest) {
                return size() > maxPeers;
            }
        };
        this.aliases = new LinkedHashMap<>(16, 0.75f, false) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
                return size() > maxPeers;
            }
        };
    }

    /** Our own neuron key: an address that proves it is another address of ours. */
    synchronized void setSelfKey(String neuronKey) {
        selfKey = neuronKey;
    }

    /** How {@link #identify} took a proof. */
    enum Identified { BOUND, SELF, DUPLICATE, UNKNOWN_ADDRESS }

    /**
     * {@code address}, which we dialed, proved it answers as {@code neuronKey}. Binds the two, or
     * drops the address if it is ourselves or a second address of a peer already held.
     */
    synchronized Identified identify(String address, String neuronKey) {
        Integer at = index.get(address);
        if (at == null) {
            return Identified.UNKNOWN_ADDRESS;
        }
        if (neuronKey.equals(selfKey)) {
            removeAt(at);
            bootstraps.remove(address);
            aliases.put(address, neuronKey);
            return Identified.SELF;
        }
        String previous = keyOf.get(address);
        if (previous != null && !previous.equals(neuronKey)) {
            holderOf.remove(previous, address); // another neuron took over this address
            keyOf.remove(address);
        }
        String holder = holderOf.get(neuronKey);
        if (holder == null || holder.equals(address) || !index.containsKey(holder)) {
            holderOf.put(neuronKey, address);
            keyOf.put(address, neuronKey);
            aliases.remove(address);
            return Identified.BOUND;
        }
        // Known twice: keep the bootstrap address (never dropped anyway), else the one held first.
        boolean keepNew = bootstraps.containsKey(address) && !bootstraps.containsKey(holder);
        String drop = keepNew ? holder : address;
        if (bootstraps.containsKey(drop)) {
            return Identified.BOUND; // two bootstrap addresses of one peer: the user asked for both
        }
        removeAt(index.get(drop));
        aliases.put(drop, neuronKey);
        if (keepNew) {
            holderOf.put(neuronKey, address);
            keyOf.put(address, neuronKey);
        }
        return Identified.DUPLICATE;
    }

    /** True if {@code address} is a known other address of ourselves or of a peer still held. */
    private boolean isAlias(String address) {
        String key = aliases.get(address);
        if (key == null) {
            return false;
        }
        if (key.equals(selfKey) || holderOf.containsKey(key)) {
            return true;
        }
        aliases.remove(address); // the peer it stood for is gone: the address may be tried again
        return false;
    }

    /** Our own address: never added, never sampled. */
    synchronized void setSelf(String address) {
        self = address;
        if (address != null && index.containsKey(address)) {
            removeAt(index.get(address));
            bootstraps.remove(address);
        }
    }

    /** Adds a bootstrap peer; it does not count against the bound and is never dropped. */
    synchronized void addBootstrap(String address) {
        if (address.equals(self)) {
            return;
        }
        bootstraps.putIfAbsent(address, new Backoff());
        quarantine.remove(address);
        if (!index.containsKey(address)) {
            append(address, NO_EVIDENCE);
        }
    }

    enum Added { ADDED, KNOWN, SELF, QUARANTINED, FULL, STALE }

    /**
     * A peer mentioned without evidence of life (a Python peer's {@code peers} list): added as if
     * heard now, once; a known peer is not refreshed by a mere mention.
     */
    synchronized Added add(String address, long nowMs) {
        return admit(address, nowMs, nowMs, false);
    }

    /**
     * Evidence that {@code address} was alive at {@code seenMs}: adds the peer, or moves its
     * evidence forward. Evidence already older than the TTL is ignored ({@link Added#STALE}).
     */
    synchronized Added heard(String address, long seenMs, long nowMs) {
        if (seenMs <= nowMs - ttlMs) {
            return Added.STALE;
        }
        return admit(address, Math.min(seenMs, nowMs), nowMs, true);
    }

    private Added admit(String address, long seenMs, long nowMs, boolean refresh) {
        if (address.equals(self) || selfKey != null && selfKey.equals(aliases.get(address))) {
            return Added.SELF;
        }
        if (index.containsKey(address) || isAlias(address)) {
            if (refresh && index.containsKey(address)) {
                seen.merge(address, seenMs, Math::max);
            }
            return Added.KNOWN;
        }
        Long until = quarantine.get(address);
        if (until != null) {
            if (nowMs < until) {
                return Added.QUARANTINED;
            }
            quarantine.remove(address);
        }
        if (list.size() - bootstraps.size() >= maxPeers) {
            // Keep what we have: a flood of made-up addresses cannot push out peers that work;
            // dead ones leave after a failed exchange and make room.
            return Added.FULL;
        }
        append(address, seenMs);
        return Added.ADDED;
    }

    /**
     * A bootstrap we have never reached, if one may be tried now (it is the bridge to whatever
     * part of the network only it knows: with many known peers, a random choice could put off
     * reaching it for many rounds); else a uniformly random peer that may be tried now. Never one
     * in {@code skip}; null if there is none.
     */
    synchronized String pick(Random random, long nowMs, Set<String> skip) {
        int n = list.size();
        if (n == 0) {
            return null;
        }
        for (Map.Entry<String, Backoff> b : bootstraps.entrySet()) {
            if (!b.getValue().reached && nowMs >= b.getValue().nextAttemptMs
                    && !skip.contains(b.getKey())) {
                return b.getKey();
            }
        }
        // Few bootstraps: a handful of random draws almost always lands on an eligible peer.
        for (int attempt = 0; attempt < 8; attempt++) {
            String p = list.get(random.nextInt(n));
            if (eligible(p, nowMs) && !skip.contains(p)) {
                return p;
            }
        }
        List<String> ok = new ArrayList<>();
        for (String p : list) {
            if (eligible(p, nowMs) && !skip.contains(p)) {
                ok.add(p);
            }
        }
        return ok.isEmpty() ? null : ok.get(random.nextInt(ok.size()));
    }

    private boolean eligible(String p, long nowMs) {
        Backoff b = bootstraps.get(p);
        return b == null || nowMs >= b.nextAttemptMs;
    }

    /** Up to {@code n} distinct random peers, never {@code exclude}. */
    synchronized List<String> sample(int n, String exclude, Random random) {
        List<String> copy = new ArrayList<>(list);
        if (exclude != null) {
            copy.remove(exclude);
        }
        int k = Math.min(n, copy.size());
        for (int i = 0; i < k; i++) {
            int j = i + random.nextInt(copy.size() - i);
            String t = copy.get(i);
            copy.set(i, copy.get(j));
            copy.set(j, t);
        }
        return new ArrayList<>(copy.subList(0, k));
    }

    /**
     * Up to {@code n} peers with evidence younger than the TTL, never {@code exclude}, with their
     * ages: all of them when they fit, else a uniform random sample.
     */
    synchronized List<Aged> view(int n, String exclude, Random random, long nowMs) {
        List<Aged> out = new ArrayList<>(Math.min(n, list.size()));
        for (String p : list) {
            long s = seen.get(p);
            if (!p.equals(exclude) && s > nowMs - ttlMs) {
                out.add(new Aged(p, Math.max(0, nowMs - s)));
            }
        }
        if (out.size() <= n) {
            return out;
        }
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(out.size() - i);
            Aged t = out.get(i);
            out.set(i, out.get(j));
            out.set(j, t);
        }
        return new ArrayList<>(out.subList(0, n));
    }

    /**
     * Drops every peer but the bootstraps whose latest evidence is older than the TTL.
     *
     * @return how many were dropped
     */
    synchronized int expire(long nowMs) {
        int dropped = 0;
        for (int i = list.size() - 1; i >= 0; i--) {
            String p = list.get(i);
            if (!bootstraps.containsKey(p) && seen.get(p) <= nowMs - ttlMs) {
                removeAt(i);
                dropped++;
            }
        }
        return dropped;
    }

    /** A failed exchange: bootstrap peers back off, others are dropped and quarantined. */
    synchronized void failed(String address, long nowMs) {
        Backoff b = bootstraps.get(address);
        if (b != null) {
            b.failures++;
            int shift = Math.min(b.failures - 1, 30);
            long wait = Math.min(backoffMaxMs, backoffBaseMs << shift);
            b.nextAttemptMs = nowMs + (wait < 0 ? backoffMaxMs : wait);
            return;
        }
        Integer i = index.get(address);
        if (i != null) {
            removeAt(i);
        }
        if (quarantineMs > 0) {
            quarantine.put(address, nowMs + quarantineMs);
        }
    }

    /** A successful exchange: the peer is alive now. */
    synchronized void succeeded(String address, long nowMs) {
        if (index.containsKey(address)) {
            seen.merge(address, nowMs, Math::max);
        }
        Backoff b = bootstraps.get(address);
        if (b != null) {
            b.failures = 0;
            b.nextAttemptMs = 0;
            b.reached = true;
        }
    }

    /** Consecutive failed exchanges with a bootstrap peer (0 for others). */
    synchronized int bootstrapFailures(String address) {
        Backoff b = bootstraps.get(address);
        return b == null ? 0 : b.failures;
    }

    synchronized List<String> list(int n) {
        return new ArrayList<>(list.subList(0, Math.min(n, list.size())));
    }

    synchronized boolean contains(String address) {
        return index.containsKey(address);
    }

    synchronized int size() {
        return list.size();
    }

    private void append(String address, long seenMs) {
        index.put(address, list.size());
        list.add(address);
        seen.put(address, seenMs);
    }

    private void removeAt(int i) {
        String gone = list.get(i);
        String key = keyOf.remove(gone);
        if (key != null) {
            holderOf.remove(key, gone);
        }
        String last = list.remove(list.size() - 1);
        index.remove(gone);
        seen.remove(gone);
        if (i < list.size()) {
            list.set(i, last);
            index.put(last, i);
        }
    }
}
