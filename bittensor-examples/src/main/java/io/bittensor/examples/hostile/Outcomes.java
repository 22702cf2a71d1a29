package io.bittensor.examples.hostile;

import io.bittensor.proto.ReturnCode;
import java.util.HashSet;
import java.util.Set;
import java.util.TreeSet;

/**
 * Names for what a request got back: an Axon {@link ReturnCode} name for a reply, {@code GOSSIP_OK}
 * for a gossip reply, {@code grpc:CODE} for a gRPC status. And which of them are never acceptable.
 */
final class Outcomes {
    static final String GOSSIP_OK = "GOSSIP_OK";
    /** Neither a reply nor a status within the deadline plus 5 s. */
    static final String NO_ANSWER = "NO_ANSWER";
    /** Every code an Axon may refuse with (not OK, not UNSET, not the Dendrite's own codes). */
    static final Set<String> AXON_REFUSALS;

    static {
        Set<String> s = new TreeSet<>();
        for (ReturnCode c : ReturnCode.values()) {
            if (c != ReturnCode.UNRECOGNIZED && c != ReturnCode.OK && c != ReturnCode.UNSET
                    && !io.bittensor.neuron.ReturnCodes.isLocal(c)) {
                s.add(c.name());
            }
        }
        AXON_REFUSALS = Set.copyOf(s);
    }

    private Outcomes() {
    }

    static String grpc(String code) {
        return "grpc:" + code;
    }

    static Set<String> of(String... codes) {
        return withOverloaded(Set.of(codes));
    }

    /** OVERLOADED is a right answer to anything an Axon is asked. */
    static Set<String> withOverloaded(Set<String> codes) {
        Set<String> s = new HashSet<>(codes);
        s.add(ReturnCode.OVERLOADED.name());
        return Set.copyOf(s);
    }

    static Set<String> withInvalid(Set<String> codes) {
        Set<String> s = new HashSet<>(codes);
        s.add(grpc("INVALID_ARGUMENT"));
        return Set.copyOf(s);
    }

    /**
     * Not a specific answer: gRPC's UNKNOWN or INTERNAL (an exception escaped a handler), a reply
     * without a code, or no answer at all (the server died or hung: UNAVAILABLE, DEADLINE_EXCEEDED).
     */
    static boolean unhandled(String outcome) {
        return outcome.equals(grpc("UNKNOWN")) || outcome.equals(grpc("INTERNAL"))
                || outcome.equals(ReturnCode.UNSET.name()) || outcome.equals(grpc("UNAVAILABLE"))
                || outcome.equals(grpc("DEADLINE_EXCEEDED")) || outcome.equals("UNPARSABLE_REPLY") || outcome.equals(NO_ANSWER);
    }
}
