package io.bittensor.router;

import io.bittensor.proto.SynapseOrBuilder;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.random.RandomGenerator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One random routing key per synapse: the gate scores a peer by the dot product of its query with
 * the peer's key, so the key is the peer's identity as far as the gate is concerned.
 *
 * <p>A key is drawn uniformly from [0, 1)^keyDim (like the original's {@code torch.rand}) the first
 * time a synapse is seen, stays the same while the synapse is known, and is forgotten by {@link
 * #retain} once the synapse leaves the metagraph. At most {@code capacity} keys are held; past that
 * the least recently used key is dropped (a synapse that comes back then gets a fresh key, which only
 * costs the gate what it had learned about that peer). Thread-safe.
 */
public final class SynapseKeys {

  /** Default bound: the metagraph's default size. */
  public static final int DEFAULT_CAPACITY = 10_000;

  private final int keyDim;
  private final int capacity;
  private final RandomGenerator random;
  // Access order: iteration starts at the least recently used key.
  private final LinkedHashMap<String, float[]> keys;

  /** Keys drawn from a fresh, unseeded generator; {@link #DEFAULT_CAPACITY} keys at most. */
  public SynapseKeys(int keyDim) {
    this(keyDim, RandomGenerator.of("L64X128MixRandom"), DEFAULT_CAPACITY);
  }

  /**
   * @param keyDim length of every key, at least 1
   * @param random source of the keys (seed it for reproducible routing)
   * @param capacity how many keys are held at most, at least 1
   */
  public SynapseKeys(int keyDim, RandomGenerator random, int capacity) {
    if (keyDim < 1) {
      throw new IllegalArgumentException("keyDim must be >= 1, got " + keyDim);
    }
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, got " + capacity);
    }
    this.keyDim = keyDim;
    this.capacity = capacity;
    this.random = Objects.requireNonNull(random, "random");
    this.keys = new LinkedHashMap<>(16, 0.75f, true);
  }

  public int keyDim() {
    return keyDim;
  }

  public int capacity() {
    return capacity;
  }

  /**
   * The keys of these synapses, one row each in the given order, as a FLOAT matrix [n, keyDim].
   * Unknown synapses get a new key. Duplicates in the list get the same row.
   *
   * @throws IllegalArgumentException if the list names more distinct synapses than the capacity
   */
  public synchronized INDArray keys(List<String> synapseKeys) {
    Objects.requireNonNull(synapseKeys, "synapseKeys");
    Set<String> distinct = new HashSet<>(synapseKeys);
    if (distinct.size() > capacity) {
      throw new IllegalArgumentException(
          distinct.size() + " distinct synapses exceed the key capacity " + capacity);
    }
    float[] flat = new float[synapseKeys.size() * keyDim];
    int row = 0;
    for (String synapseKey : synapseKeys) {
      System.arraycopy(keyOf(synapseKey), 0, flat, row * keyDim, keyDim);
      row++;
    }
    return Nd4j.create(flat, new long[] {synapseKeys.size(), keyDim}, DataType.FLOAT);
  }

  /** {@link #keys(List)} for synapse entries, by their {@code synapse_key}. */
  public INDArray keysOf(List<? extends SynapseOrBuilder> synapses) {
    return keys(synapses.stream().map(SynapseOrBuilder::getSynapseKey).toList());
  }

  /** A copy of one synapse's key, made if it had none. */
  public synchronized float[] key(String synapseKey) {
    return keyOf(synapseKey).clone();
  }

  /** Whether this synapse currently has a key (does not count as a use). */
  public synchronized boolean contains(String synapseKey) {
    return keys.containsKey(synapseKey);
  }

  /** Forgets every key whose synapse is not in {@code current} (e.g. the metagraph's synapses). */
  public synchronized void retain(Collection<String> current) {
    Set<String> keep = current instanceof Set<?> ? (Set<String>) current : new HashSet<>(current);
    keys.keySet().removeIf(k -> !keep.contains(k));
  }

  public synchronized int size() {
    return keys.size();
  }

  private float[] keyOf(String synapseKey) {
    Objects.requireNonNull(synapseKey, "synapseKey");
    float[] key = keys.get(synapseKey);
    if (key == null) {
      key = new float[keyDim];
      for (int i = 0; i < keyDim; i++) {
        key[i] = random.nextFloat();
      }
      keys.put(synapseKey, key);
      if (keys.size() > capacity) {
        Map.Entry<String, float[]> eldest = keys.entrySet().iterator().next();
        keys.remove(eldest.getKey());
      }
    }
    return key;
  }
}
