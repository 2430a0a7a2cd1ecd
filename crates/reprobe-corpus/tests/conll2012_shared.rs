//! The CoNLL-2012 reader on the shared corpora (skips when `../shared` is absent).
mod util;

use reprobe_corpus::read_conll2012;

/// (corpus, split, docs, sentences, words, mentions, clusters) from `../shared/data/README.md`.
const STATS: [(&str, &str, usize, usize, usize, usize, usize); 4] = [
    ("ontogum", "dev", 30, 1_575, 28_119, 3_818, 857),
    ("ontogum", "train", 177, 10_224, 177_410, 23_320, 5_311),
    ("litbank", "dev", 10, 927, 20_438, 3_053, 776),
    ("litbank", "train", 80, 6_755, 169_456, 23_218, 6_344),
];

#[test]
fn counts_match_the_corpus_readme() {
    for (corpus, split, docs, sentences, words, mentions, clusters) in STATS {
        let Some(path) = util::shared_conll(corpus, split) else {
            return;
        };
        let parsed = read_conll2012(&path, "bc").unwrap();
        let got = (
            parsed.len(),
            parsed.iter().map(|d| d.sentences.len()).sum::<usize>(),
            parsed.iter().map(|d| d.words.len()).sum::<usize>(),
            parsed
                .iter()
                .flat_map(|d| &d.clusters)
                .map(Vec::len)
                .sum::<usize>(),
            parsed.iter().map(|d| d.clusters.len()).sum::<usize>(),
        );
        assert_eq!(
            got,
            (docs, sentences, words, mentions, clusters),
            "{corpus}/{split}: (docs, sentences, words, mentions, clusters)"
        );
        for doc in &parsed {
            assert_eq!(doc.genre, "bc", "{}", doc.id);
            assert_eq!(doc.part, 0);
            assert_eq!(doc.speakers.len(), doc.words.len());
        }
    }
}
