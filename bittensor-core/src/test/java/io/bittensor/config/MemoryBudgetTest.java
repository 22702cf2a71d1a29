package io.bittensor.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Which limits applyDefaults fills in, which it keeps, and what the budget line says. */
class MemoryBudgetTest {
    private static final List<String> KEYS = List.of(MemoryBudget.MAX_BYTES, "org.bytedeco.javacpp.maxBytes",
            MemoryBudget.MAX_PHYSICAL_BYTES, "org.bytedeco.javacpp.maxPhysicalBytes", MemoryBudget.MAX_RSS);
    private final Map<String, String> saved = new HashMap<>();

    @BeforeEach
    void clear() {
        for (String key : KEYS) {
            saved.put(key, System.getProperty(key));
            System.clearProperty(key);
        }
    }

    @AfterEach
    void restore() {
        for (String key : KEYS) {
            if (saved.get(key) == null) {
                System.clearProperty(key);
            } else {
                System.setProperty(key, saved.get(key));
            }
        }
    }

    @Test
    void absentLimitsGetOurRssCapAndJavaCppsPerAllocationCheckOff() {
        MemoryBudget budget = MemoryBudget.applyDefaults();
        assertEquals("0", System.getProperty(MemoryBudget.MAX_PHYSICAL_BYTES)); // JavaCPP's own default is not 0
        assertEquals(512L << 20, budget.nativeBytes());
        assertEquals(0, budget.physicalBytes());
        assertEquals(1280L << 20, budget.rssBytes());
        String line = budget.describe();
        assertTrue(line.contains("process RSS 1280 MiB (-Dbittensor.maxrss, checked once a second"), line);
        assertTrue(!line.contains(MemoryBudget.MAX_PHYSICAL_BYTES), line);
    }

    @Test
    void anExplicitJavaCppLimitKeepsTheStrictCheckWithoutAddingOurs() {
        System.setProperty(MemoryBudget.MAX_PHYSICAL_BYTES, "1280m");
        MemoryBudget budget = MemoryBudget.applyDefaults();
        assertEquals("1280m", System.getProperty(MemoryBudget.MAX_PHYSICAL_BYTES));
        assertNull(System.getProperty(MemoryBudget.MAX_RSS));
        assertEquals(1280L << 20, budget.physicalBytes());
        assertEquals(0, budget.rssBytes());
        assertTrue(budget.describe().contains("process RSS 1280 MiB (-D" + MemoryBudget.MAX_PHYSICAL_BYTES
                + ", checked at every native allocation)"), budget.describe());
    }

    @Test
    void theCamelCaseSpellingCountsAsGiven() {
        System.setProperty("org.bytedeco.javacpp.maxPhysicalBytes", "2g");
        MemoryBudget budget = MemoryBudget.applyDefaults();
        assertNull(System.getProperty(MemoryBudget.MAX_PHYSICAL_BYTES));
        assertEquals(2L << 30, budget.physicalBytes());
        assertEquals(0, budget.rssBytes());
    }

    @Test
    void anExplicitZeroStillGetsOurCapAndBothGivenAreBothKept() {
        System.setProperty(MemoryBudget.MAX_PHYSICAL_BYTES, "0");
        assertEquals(1280L << 20, MemoryBudget.applyDefaults().rssBytes());

        System.setProperty(MemoryBudget.MAX_PHYSICAL_BYTES, "3g");
        System.setProperty(MemoryBudget.MAX_RSS, "2g");
        MemoryBudget both = MemoryBudget.applyDefaults();
        assertEquals(3L << 30, both.physicalBytes());
        assertEquals(2L << 30, both.rssBytes());
        assertTrue(both.describe().contains("2048 MiB (-Dbittensor.maxrss")
                && both.describe().contains("3072 MiB (-D" + MemoryBudget.MAX_PHYSICAL_BYTES), both.describe());
    }

    @Test
    void aNeuronsOwnDefaultsSurviveTheGenericCallAfterThem() {
        MemoryBudget.applyDefaults(3L << 30, 6L << 30); // CifarNeuronMain, then NeuronCommand.main
        MemoryBudget budget = MemoryBudget.applyDefaults();
        assertEquals(3L << 30, budget.nativeBytes());
        assertEquals(6L << 30, budget.rssBytes());
        assertEquals(0, budget.physicalBytes());
    }

    @Test
    void aGivenRssCapIsKeptInAnySizeSyntax() {
        System.setProperty(MemoryBudget.MAX_RSS, "1536M");
        assertEquals(1536L << 20, MemoryBudget.applyDefaults().rssBytes());
        System.setProperty(MemoryBudget.MAX_RSS, "2097152k");
        assertEquals(2L << 30, MemoryBudget.current().rssBytes());
    }

    @Test
    void aBadRssCapIsAConfigErrorNamingTheProperty() {
        System.setProperty(MemoryBudget.MAX_RSS, "lots");
        ConfigException e = assertThrows(ConfigException.class, MemoryBudget::applyDefaults);
        assertEquals("-Dbittensor.maxrss", e.option());
        assertTrue(e.getMessage().contains("'lots'"), e.getMessage());
    }

    @Test
    void noRssLimitAtAllIsSaid() {
        System.setProperty(MemoryBudget.MAX_PHYSICAL_BYTES, "0");
        System.setProperty(MemoryBudget.MAX_RSS, "0");
        assertTrue(MemoryBudget.applyDefaults().describe().contains("process RSS unbounded"));
    }
}
