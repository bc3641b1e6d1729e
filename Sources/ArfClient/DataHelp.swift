// The help texts of the dataset, anchor and plugin commands, keyed by command path as in
// Help.texts, which falls back to these.

/// Help for `arf data`, `arf anchors` and `arf plugins`.
enum DataHelp {
    static let texts: [String: String] = [
        "data": """
        usage: arf data add NAME PATH --role ROLE [options]
               arf data list|show NAME|rm NAME [--json]
               arf data embed NAME --model M [--modality image|text|both] [--detach]
               arf data embeddings NAME --model M [--modality image|text] [--limit N]

        Registers datasets with the daemon as snapshots of their items, so item numbers stay
        stable; embeddings and captions are stored per item.
        """,
        "data add": """
        usage: arf data add NAME PATH --role ROLE [--format imagefolder|pairs]
                            [--filepath-column C] [--caption-column C] [--separator tab|comma]
                            [--replace]

        Registers PATH as dataset NAME. A folder is an image folder: one subfolder per class,
        classes in byte order of their names, images with the extensions torchvision reads
        (jpg jpeg png ppm bmp pgm tif tiff webp). A file is a pair list: CSV or TSV with a
        header row, image paths (relative to the list's folder) and captions. Anything wrong
        (a missing folder, a class without images, a missing column, a bad row) is reported
        and nothing is registered.

          --role ROLE          finetune, pool, eval-id, eval-shift or eval-zeroshot
          --format F           imagefolder or pairs (default: by whether PATH is a folder)
          --filepath-column C  the image path column of a pair list (default filepath)
          --caption-column C   the caption column of a pair list (default caption)
          --separator S        tab or comma (default: comma for .csv, else tab)
          --replace            NAME is registered already: read PATH again and put it in
                               its place (after files changed), dropping the embeddings,
                               captions, evaluation results and indexes stored for the old
                               snapshot; refused while a job uses NAME. Retrieved anchors
                               keep their pairs.
        """,
        "data list": """
        usage: arf data list [--json]

        Lists registered datasets: name, role, format, items, classes and path.
        """,
        "data show": """
        usage: arf data show NAME [--sample N] [--json]

        Shows a dataset: its classes with their sizes, the embeddings and caption sets stored
        for it, and N items spread over it (default 5).
        """,
        "data rm": """
        usage: arf data rm NAME [--json]

        Forgets a dataset with its stored embeddings, captions, evaluation results and
        retrieval indexes. Refused while a job that reads it has not ended.
        """,
        "data embed": """
        usage: arf data embed NAME --model M [--modality image|text|both] [--batch N]
                              [--max-rate R] [--detach] [--json]

        Submits a job that embeds the dataset's images (and a pair list's captions) and
        stores the vectors; what is stored already is skipped, so it resumes after a crash.

          --modality M   image, text or both (default: both for a pair list, else image)
          --batch N      items per commit (default 32)
          --max-rate R   at most R items per second (default: no limit)
          --detach       print the job id and return at once
        """,
        "data embeddings": """
        usage: arf data embeddings NAME --model M [--modality image|text] [--limit N]
                                   [--start I] [--json]

        Prints stored embeddings of a dataset in item order, from item I (default 0).
        """,
        "anchors": """
        usage: arf anchors caption DATASET --captioner NAME [--model M] [--option k=v]...
               arf anchors retrieve TASK --pool DATASET --finetune DATASET --model M
                                    --retriever NAME --per-class K [options]
               arf anchors show DATASET|TASK [--sample N] [--set ID] [--json]
        """,
        "anchors retrieve": """
        usage: arf anchors retrieve TASK --pool DATASET --finetune DATASET --model M
                                    --retriever exact|ivf --per-class K
                                    [--query text|image|both] [--exclude-eval]
                                    [--exclude-threshold T] [--dedup T] [--template T]...
                                    [--option key=value]... [--detach] [--json]

        Submits a job that picks image-text pairs from the pool (a pair list) for each class
        of the finetune dataset and stores them under TASK with their scores and where they
        came from; running a task again replaces it. Embeddings that are not stored yet are
        computed and stored first.

          --query Q            text: the class names in the templates; image: the mean
                               finetune image of each class; both: half the quota each
                               (default text)
          --per-class K        at most K pairs per class; a pair goes to one class only
          --exclude-eval       leave out pool images within --exclude-threshold (cosine,
                               default 0.95) of any image of an eval-* dataset
          --dedup T            leave out pool images within cosine T of one already chosen
          --template T         a prompt template with {} for the class name; repeat for an
                               ensemble (default "a photo of a {}.")
          --option key=value   a retriever option, for example nprobe=16 for ivf
        """,
        "anchors caption": """
        usage: arf anchors caption DATASET --captioner NAME [--model M] [--option key=value]...
                                   [--batch N] [--detach] [--json]

        Submits a job that captions every image of DATASET with a captioner plugin and
        stores the captions as a caption set named after the captioner and its options.
        Running it again with the same options only captions what is missing. Images a
        captioner cannot caption are reported and skipped. See the captioners and their
        options with: arf plugins list

          --model M            the model captioners that embed use (nearest-caption)
          --option key=value   a captioner option; repeat for more
          --batch N            images per captioner call and commit (default 32)
        """,
        "anchors show": """
        usage: arf anchors show DATASET|TASK [--sample N] [--set ID] [--json]

        For a dataset, lists its caption sets and shows N captioned images (default 10) of
        the latest set (or of --set ID) with their captions and scores. For a retrieval task,
        shows how it was run and N of its pairs with scores and provenance.
        """,
        "plugins": """
        usage: arf plugins list [--json]
        """,
        "plugins list": """
        usage: arf plugins list [--json]

        Lists the daemon's captioners, retrievers and losses (built in, or loaded from the
        folder arfd --plugins names) with their versions and options, and the plugin
        libraries it refused, with the reason.
        """,
    ]
}
