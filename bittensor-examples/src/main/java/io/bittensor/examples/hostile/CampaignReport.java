package io.bittensor.examples.hostile;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a campaign saw: per kind, how many were sent and what each got back; how many valid
 * calls were made in between and answered correctly; whether any planted entry was served back.
 */
public final class CampaignReport {
    private final Map<HostileKind, Map<String, Long>> outcomes = new EnumMap<>(HostileKind.class);
    private final Map<HostileKind, Long> right = new EnumMap<>(HostileKind.class);
    private long validForward;
    private long validForwardCorrect;
    private long validGossip;
    private long validGossipCorrect;
    private long plantedServed;
    private long reconnects;
    private long elapsedNanos;
    private final Map<String, Long> firstWrong = new TreeMap<>();

    void record(HostileKind kind, String outcome, boolean expected) {
        outcomes.computeIfAbsent(kind, k -> new TreeMap<>()).merge(outcome, 1L, Long::sum);
        if (expected) {
            right.merge(kind, 1L, Long::sum);
        } else {
            firstWrong.merge(kind + " → " + outcome, 1L, Long::sum);
        }
    }

    void validForward(boolean correct) {
        validForward++;
        validForwardCorrect += correct ? 1 : 0;
    }

    void validGossip(boolean correct) {
        validGossip++;
        validGossipCorrect += correct ? 1 : 0;
    }

    void plantedServed(long n) {
        plantedServed += n;
    }

    private final Map<String, Long> validFailures = new TreeMap<>();

    void validFailure(String why) {
        validFailures.merge(why, 1L, Long::sum);
    }

    /** Why valid calls failed, if any did. */
    public Map<String, Long> validFailures() {
        return Map.copyOf(validFailures);
    }

    void reconnect() {
        reconnects++;
    }

    /** Times the attacker dialled again after an oversized message (see HostileCampaign). */
    public long reconnects() {
        return reconnects;
    }

    void elapsed(long nanos) {
        this.elapsedNanos = nanos;
    }

    /** Hostile requests sent. */
    public long sent() {
        return outcomes.values().stream().flatMap(m -> m.values().stream()).mapToLong(Long::longValue).sum();
    }

    public long sent(HostileKind kind) {
        return outcomes.getOrDefault(kind, Map.of()).values().stream().mapToLong(Long::longValue).sum();
    }

    /** Outcome name → count for one kind (see docs/reliability.md for the names). */
    public Map<String, Long> outcomes(HostileKind kind) {
        return Map.copyOf(outcomes.getOrDefault(kind, Map.of()));
    }

    /** Requests answered with UNKNOWN/INTERNAL, no code, or not at all. Must be 0. */
    public long unhandled() {
        return outcomes.values().stream().flatMap(m -> m.entrySet().stream())
                .filter(e -> Outcomes.unhandled(e.getKey())).mapToLong(Map.Entry::getValue).sum();
    }

    /** Requests whose answer was specific but not one listed as right for their kind. */
    public Map<String, Long> unexpected() {
        return Map.copyOf(firstWrong);
    }

    public long validCalls() {
        return validForward + validGossip;
    }

    public long validCallsCorrect() {
        return validForwardCorrect + validGossipCorrect;
    }

    /** Forged, expired or low-proof entries that a gossip reply carried back. Must be 0. */
    public long plantedServed() {
        return plantedServed;
    }

    /** A table by kind, then the totals. */
    public String table() {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "| %-24s | %7s | %7s | %s |%n", "kind", "sent", "right", "answers"));
        b.append("|---|---:|---:|---|\n");
        for (HostileKind k : HostileKind.values()) {
            Map<String, Long> o = outcomes.getOrDefault(k, Map.of());
            StringBuilder answers = new StringBuilder();
            o.forEach((name, n) -> answers.append(answers.length() == 0 ? "" : ", ").append(name).append(' ').append(n));
            b.append(String.format(Locale.ROOT, "| %-24s | %7d | %7d | %s |%n", k, sent(k),
                    right.getOrDefault(k, 0L), answers));
        }
        double secs = elapsedNanos / 1e9;
        b.append(String.format(Locale.ROOT,
                "%nhostile %d in %.1f s (%.0f/s); unhandled (UNKNOWN, INTERNAL, no code, no answer) %d; "
                        + "unexpected %s%nvalid Forward %d/%d correct, valid Gossip %d/%d correct; planted entries served back %d; attacker reconnects after RESOURCE_EXHAUSTED %d; valid failures %s%n",
                sent(), secs, sent() / Math.max(secs, 1e-9), unhandled(), firstWrong,
                validForwardCorrect, validForward, validGossipCorrect, validGossip, plantedServed, reconnects, validFailures));
        return b.toString();
    }
}
