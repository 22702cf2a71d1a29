package io.bittensor.metagraph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.bittensor.proto.Synapse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SynapseTableTest {

    private static byte[] record(String key, long deadline, boolean local) {
        Synapse s = Synapse.newBuilder().setSynapseKey(key).setNeuronKey("n")
                .setAddress("1.2.3.4").setPort("1").build();
        return SynapseRecord.encode(s, local ? SynapseRecord.FLAG_LOCAL : 0, deadline);
    }

    private static byte[] keyOf(String key) {
        return SynapseRecord.keyField(ByteString.copyFromUtf8(key));
    }

    @Test
    void behavesLikeAMapUnderRandomOperations() {
        SynapseTable t = new SynapseTable(7);
        Map<String, Long> model = new HashMap<>();
        Random r = new Random(1);
        for (int i = 0; i < 20_000; i++) {
            // Few distinct keys so puts, replaces and removes all hit; both key forms.
            String key = r.nextBoolean() ? "k" + r.nextInt(500)
                    : String.format("0x%064x", r.nextInt(500));
            if (r.nextInt(3) == 0) {
                byte[] gone = t.remove(keyOf(key));
                Long m = model.remove(key);
                assertEquals(m == null, gone == null, key);
            } else {
                long d = r.nextInt(1000);
                t.put(record(key, d, false));
                model.put(key, d);
            }
            assertEquals(model.size(), t.size());
        }
        for (Map.Entry<String, Long> e : model.entrySet()) {
            byte[] rec = t.get(keyOf(e.getKey()));
            assertNotNull(rec, e.getKey());
            assertEquals(e.getValue(), SynapseRecord.deadline(rec));
        }
        assertEquals(model.size(), t.window(0, Integer.MAX_VALUE, x -> true).size());
    }

    @Test
    void stalestSkipsLocalsAndPicksEarliestDeadlines() {
        SynapseTable t = new SynapseTable(3);
        for (int i = 0; i < 100; i++) {
            t.put(record("r" + i, 1000 + (i * 37) % 100, false));
        }
        t.put(record("local-early", 1, true));
        List<byte[]> s = t.stalest(10);
        assertEquals(10, s.size());
        Set<Long> deadlines = new HashSet<>();
        for (byte[] rec : s) {
            assertTrue(!SynapseRecord.isLocal(rec));
            deadlines.add(SynapseRecord.deadline(rec));
        }
        for (long d = 1000; d < 1010; d++) {
            assertTrue(deadlines.contains(d), "deadline " + d);
        }
        assertEquals(1, t.localCount());
    }

    @Test
    void removeIfRemovesExactlyTheMatchesAndShrinks() {
        SynapseTable t = new SynapseTable(5);
        for (int i = 0; i < 5000; i++) {
            t.put(record("k" + i, i, false));
        }
        List<byte[]> removed = new ArrayList<>();
        int n = t.removeIf(r -> SynapseRecord.deadline(r) >= 10, removed::add);
        assertEquals(4990, n);
        assertEquals(4990, removed.size());
        assertEquals(10, t.size());
        for (int i = 0; i < 5000; i++) {
            if (i < 10) {
                assertNotNull(t.get(keyOf("k" + i)));
            } else {
                assertNull(t.get(keyOf("k" + i)));
            }
        }
        assertTrue(t.capacity() <= 64, "capacity " + t.capacity());
    }

    @Test
    void replacingKeepsTheLocalCountRight() {
        SynapseTable t = new SynapseTable(9);
        t.put(record("a", 1, true));
        t.put(record("a", 2, false));
        assertEquals(0, t.localCount());
        t.put(record("a", 3, true));
        assertEquals(1, t.localCount());
        t.remove(keyOf("a"));
        assertEquals(0, t.localCount());
        assertEquals(0, t.size());
    }
}
