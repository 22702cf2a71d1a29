package io.bittensor.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.bittensor.proto.Synapse;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

class SynapseKeysTest {

  @Test
  void keysAreStableUniformAndOnePerSynapse() {
    SynapseKeys keys = new SynapseKeys(8, GateGradientTest.seeded(1), 100);
    INDArray first = keys.keys(List.of("a", "b", "a"));
    assertArrayEquals(new long[] {3, 8}, first.shape());
    assertEquals(DataType.FLOAT, first.dataType());
    assertEquals(first.getRow(0), first.getRow(2));
    assertFalse(first.getRow(0).equals(first.getRow(1)));
    assertTrue(first.minNumber().doubleValue() >= 0 && first.maxNumber().doubleValue() < 1);
    INDArray again = keys.keys(List.of("b", "a"));
    assertEquals(first.getRow(1), again.getRow(0));
    assertEquals(first.getRow(0), again.getRow(1));
    assertEquals(2, keys.size());
  }

  @Test
  void sameSeedSameKeys() {
    float[] a = new SynapseKeys(4, GateGradientTest.seeded(9), 10).key("x");
    float[] b = new SynapseKeys(4, GateGradientTest.seeded(9), 10).key("x");
    assertArrayEquals(a, b);
  }

  @Test
  void retainForgetsSynapsesThatLeft() {
    SynapseKeys keys = new SynapseKeys(4, GateGradientTest.seeded(2), 10);
    float[] a = keys.key("a");
    float[] b = keys.key("b");
    keys.retain(Set.of("b", "c"));
    assertFalse(keys.contains("a"));
    assertTrue(keys.contains("b"));
    assertFalse(keys.contains("c"), "retain does not create keys");
    assertArrayEquals(b, keys.key("b"));
    assertFalse(Arrays.equals(a, keys.key("a")), "a synapse that comes back gets a new key");
  }

  @Test
  void memoryIsBoundedLeastRecentlyUsedFirst() {
    SynapseKeys keys = new SynapseKeys(2, GateGradientTest.seeded(3), 2);
    keys.key("a");
    keys.key("b");
    keys.key("a"); // a is now more recent than b
    keys.key("c");
    assertEquals(2, keys.size());
    assertTrue(keys.contains("a"));
    assertFalse(keys.contains("b"));
    assertTrue(keys.contains("c"));
    assertThrows(IllegalArgumentException.class, () -> keys.keys(List.of("x", "y", "z")));
  }

  @Test
  void keysOfSynapsesUseTheirSynapseKey() {
    SynapseKeys keys = new SynapseKeys(3, GateGradientTest.seeded(4), 10);
    Synapse s = Synapse.newBuilder().setSynapseKey("0xabc").setAddress("1.2.3.4").build();
    INDArray k = keys.keysOf(List.of(s));
    assertArrayEquals(keys.key("0xabc"), k.getRow(0).toFloatVector());
  }

  @Test
  void rejectsBadSettings() {
    assertThrows(IllegalArgumentException.class, () -> new SynapseKeys(0));
    assertThrows(IllegalArgumentException.class, () -> new SynapseKeys(2, GateGradientTest.seeded(1), 0));
  }
}
