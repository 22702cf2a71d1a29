package io.bittensor.examples.bench;

import io.bittensor.router.CombineGradients;
import io.bittensor.router.Dispatch;
import io.bittensor.router.Dispatcher;
import io.bittensor.router.Gating;
import io.bittensor.router.SparseGate;
import io.bittensor.router.SynapseKeys;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGeneratorFactory;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Local cost of routing one batch (no network): gate forward, dispatch, combine, combine backward,
 * gate backward + updater step, by number of peers. Run after {@code ./mvnw -q -o -pl
 * bittensor-examples -am package -DskipTests}: {@code java
 * -Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2 -cp
 * bittensor-examples/target/bittensor-examples.jar io.bittensor.examples.bench.RouterBench [batch
 * seq]} (default 32 20). Context width 512, key_dim 100, top k 10 (the original's settings); every
 * routed peer "answers" ones of [rows, seq, 512].
 */
public final class RouterBench {

  private RouterBench() {}

  public static void main(String[] args) {
    int batch = args.length > 0 ? Integer.parseInt(args[0]) : 32;
    int seq = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    int xDim = 512;
    SparseGate gate =
        SparseGate.builder(xDim)
            .random(RandomGeneratorFactory.of("L64X128MixRandom").create(1))
            .build();
    Dispatcher dispatcher = new Dispatcher();
    System.out.printf(
        Locale.ROOT,
        "Router, batch %d, seq %d, x_dim %d, key_dim %d, k %d (ms per batch, median of 20)%n",
        batch, seq, xDim, gate.keyDim(), gate.topK());
    System.out.printf(
        Locale.ROOT, "%8s %10s %10s %10s %12s %14s %10s%n",
        "peers", "gate fwd", "dispatch", "combine", "combine bwd", "gate bwd+step", "total");
    for (int n : new int[] {10, 100, 1000, 10_000}) {
      SynapseKeys keys =
          new SynapseKeys(gate.keyDim(), RandomGeneratorFactory.of("L64X128MixRandom").create(2), n);
      INDArray k = keys.keys(IntStream.range(0, n).mapToObj(i -> "peer" + i).toList());
      INDArray context = Nd4j.randn(DataType.FLOAT, batch, xDim);
      INDArray tokens = Nd4j.zeros(DataType.INT64, batch, seq);
      double[][] ms = new double[5][25];
      for (int rep = 0; rep < 25; rep++) {
        long t0 = System.nanoTime();
        Gating g = gate.forward(context, k);
        long t1 = System.nanoTime();
        Dispatch d = dispatcher.dispatch(tokens, g.gates());
        long t2 = System.nanoTime();
        List<INDArray> outs = new ArrayList<>();
        boolean[] answered = new boolean[n];
        for (int e = 0; e < n; e++) {
          INDArray in = d.inputs().get(e);
          outs.add(in == null ? null : Nd4j.ones(DataType.FLOAT, in.size(0), seq, 512));
          answered[e] = in != null;
        }
        long t3 = System.nanoTime();
        INDArray out = dispatcher.combine(outs, g.gates(), answered, new long[] {seq, 512});
        long t4 = System.nanoTime();
        CombineGradients cg = dispatcher.combineBackward(outs, g.gates(), answered, out);
        long t5 = System.nanoTime();
        gate.apply(gate.backward(g, cg.gates()));
        long t6 = System.nanoTime();
        ms[0][rep] = (t1 - t0) / 1e6;
        ms[1][rep] = (t2 - t1) / 1e6;
        ms[2][rep] = (t4 - t3) / 1e6;
        ms[3][rep] = (t5 - t4) / 1e6;
        ms[4][rep] = (t6 - t5) / 1e6;
      }
      double[] med = new double[5];
      double total = 0;
      for (int i = 0; i < 5; i++) {
        // Drop 5 warm-up rounds, take the median of the rest.
        double[] s = java.util.Arrays.copyOfRange(ms[i], 5, 25);
        java.util.Arrays.sort(s);
        med[i] = s[s.length / 2];
        total += med[i];
      }
      System.out.printf(
          Locale.ROOT, "%8d %10.2f %10.2f %10.2f %12.2f %14.2f %10.2f%n",
          n, med[0], med[1], med[2], med[3], med[4], total);
    }
  }
}
