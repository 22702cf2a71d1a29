package io.bittensor.examples.bench;

import io.bittensor.crypto.Keypair;
import io.bittensor.crypto.ProofOfWork;
import io.bittensor.crypto.RequestSigner;
import io.bittensor.crypto.SynapseSigner;
import io.bittensor.proto.Synapse;
import io.bittensor.proto.TensorMessage;
import io.bittensor.proto.Tensor;
import com.google.protobuf.ByteString;
import java.util.Arrays;
import java.util.Locale;

/**
 * Proof-of-work solve and check times by difficulty, plus synapse and request sign/verify costs.
 * Run: {@code ./mvnw -q -pl bittensor-examples exec:java
 * -Dexec.mainClass=io.bittensor.examples.bench.ProofOfWorkBench [-Dexec.args="5 8"]}
 * (args: max difficulty, entries per difficulty).
 */
public final class ProofOfWorkBench {

    private ProofOfWorkBench() {
    }

    public static void main(String[] args) {
        int maxDifficulty = args.length > 0 ? Integer.parseInt(args[0]) : 5;
        int entries = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        Keypair owner = Keypair.generate();
        // Warm-up so the JIT has compiled the hashing loop before we time it.
        for (int i = 0; i < 50; i++) {
            ProofOfWork.solve(entry(owner, "warm" + i), 2);
        }

        System.out.println("Proof of work (each row: " + entries + " different entries)");
        System.out.printf(Locale.ROOT, "%-10s %12s %12s %12s %14s %12s%n", "difficulty",
                "mean nounce", "median ms", "mean ms", "max ms", "check ms");
        for (int d = 2; d <= maxDifficulty; d++) {
            double[] ms = new double[entries];
            long nounces = 0;
            double checkMs = 0;
            for (int i = 0; i < entries; i++) {
                Synapse s = entry(owner, "d" + d + "-" + i);
                long t0 = System.nanoTime();
                Synapse solved = ProofOfWork.solve(s, d);
                ms[i] = (System.nanoTime() - t0) / 1e6;
                nounces += solved.getNounce();
                long t1 = System.nanoTime();
                if (!ProofOfWork.check(solved, d)) {
                    throw new IllegalStateException("check failed");
                }
                checkMs += (System.nanoTime() - t1) / 1e6;
            }
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "%-10d %12d %12.2f %12.2f %14.2f %12.3f%n", d,
                    nounces / entries, sorted[entries / 2], Arrays.stream(ms).average().orElse(0),
                    sorted[entries - 1], checkMs / entries);
        }

        Synapse signedMax = SynapseSigner.sign(entry(owner, "max").toBuilder()
                .setNounce(SynapseSigner.MAX_NOUNCE).build(), owner);
        System.out.printf(Locale.ROOT, "%nverify at MAX_NOUNCE (%d): %.2f ms (worst case per"
                + " hostile entry)%n", SynapseSigner.MAX_NOUNCE, timeMs(20,
                        () -> SynapseSigner.verify(signedMax)));
        Synapse signed = SynapseSigner.sign(entry(owner, "small"), owner);
        System.out.printf(Locale.ROOT, "synapse sign: %.3f ms, verify: %.3f ms%n",
                timeMs(500, () -> SynapseSigner.sign(entry(owner, "small"), owner)),
                timeMs(500, () -> SynapseSigner.verify(signed)));

        for (int[] shape : new int[][] {{64, 1, 512}, {256, 128, 512}}) {
            int bytes = shape[0] * shape[1] * shape[2] * 4;
            TensorMessage m = TensorMessage.newBuilder().setSynapseKey("0x" + "aa".repeat(32))
                    .addTensors(Tensor.newBuilder().setBuffer(ByteString.copyFrom(new byte[bytes]))
                            .addShape(shape[0]).addShape(shape[1]).addShape(shape[2]))
                    .build();
            TensorMessage sm = RequestSigner.sign(m, owner, 1L);
            int reps = bytes > 10_000_000 ? 10 : 500;
            System.out.printf(Locale.ROOT, "request %s float32 (%d B): sign %.3f ms, verify %.3f ms%n",
                    Arrays.toString(shape), bytes, timeMs(reps, () -> RequestSigner.sign(m, owner, 1L)),
                    timeMs(reps, () -> RequestSigner.verify(sm)));
        }
    }

    private static Synapse entry(Keypair owner, String port) {
        return Synapse.newBuilder().setVersion("0.0.0").setNeuronKey(owner.publicKeyHex())
                .setSynapseKey("0x" + "22".repeat(32)).setAddress("127.0.0.1").setPort(port)
                .setBlockHash("bench").build();
    }

    private static double timeMs(int reps, Runnable r) {
        for (int i = 0; i < Math.min(reps, 20); i++) {
            r.run();
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) {
            r.run();
        }
        return (System.nanoTime() - t0) / 1e6 / reps;
    }
}
