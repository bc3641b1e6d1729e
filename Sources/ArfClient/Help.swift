// The help texts of arf and its commands, keyed by command path ("model load"). `--help`
// after any command prints the text of the longest path that has one.

/// Help for each command path.
enum Help {
    static let main = """
        usage: arf [--socket PATH] [--json] COMMAND ...

        Talks to arfd, the arf daemon, over its Unix socket.

        commands:
          status                     the daemon's version, load and queue
          model load NAME DIR        load a CLIP checkpoint folder as NAME
          model list|rm              registered models; forget one
          embed                      embeddings of images and texts
          classify                   zero-shot classification of images
          embed-folder               embed and store every image under a folder (a job)
          jobs list|watch|cancel     follow and control jobs
          jobs prune                 forget ended jobs
          embeddings list            read back embeddings stored by embed-folder
          data add|list|show|rm      register and inspect datasets (image folders, pair lists)
          data embed|embeddings      embed a dataset and store the vectors (a job), read them
          anchors caption|retrieve   caption a dataset, or retrieve pairs from a pool (jobs)
          anchors show               show a dataset's captions or a task's retrieved pairs
          plugins list               captioners, retrievers and losses, with their options
          finetune                   finetune a model on a dataset: ft, lp-ft, flyp, arf (a job)
          eval                       evaluate a model on registered datasets (a job)
          wise                       WiSE-FT curve between a zero-shot and a finetuned model
          results | runs list        stored evaluation results | finetuning runs
          runs rm                    delete a finetuning run with its checkpoints
          report                     write the HTML results page
          pretrain                   pretrain a CLIP model from scratch on pairs (a job)
          world generate             write the synthetic world (no daemon needed)
          demo                       the whole experiment, start to finish

        global options:
          --socket PATH   the daemon's socket (default: $ARF_SOCKET, else
                          $XDG_RUNTIME_DIR/arf/arfd.sock, else ~/.arf/arfd.sock)
          --json          machine-readable output
          --help          help for any command, e.g. arf model load --help
        """

    static let texts: [String: String] = [
        "status": """
        usage: arf status [--json]

        Shows the daemon's version, pid, uptime, compute threads, models in memory and jobs.
        """,
        "model": """
        usage: arf model load NAME DIR [--replace] [--json]
               arf model list [--json]
               arf model rm NAME [--json]

        Registers CLIP checkpoints with the daemon, which keeps them across restarts.
        """,
        "model load": """
        usage: arf model load NAME DIR [--replace] [--json]

        Loads the Hugging Face CLIP checkpoint in DIR (config.json, model.safetensors,
        vocab.json, merges.txt, preprocessor_config.json) and registers it as NAME. The whole
        checkpoint is checked first: a bad one changes nothing.

          --replace   load again over a model already registered as NAME
        """,
        "model list": """
        usage: arf model list [--json]

        Lists registered models: name, whether in memory, size, shape and folder.
        """,
        "model rm": """
        usage: arf model rm NAME [--json]

        Forgets model NAME: its registration and the embeddings and retrieval indexes stored
        under it. Its checkpoint folder stays where it is. Refused while a job uses the model.
        To delete a finetuning run with its checkpoints, use arf runs rm.
        """,
        "embed": """
        usage: arf embed --model NAME [--image FILE]... [--text TEXT]... [--json]

        Prints L2-normalised embeddings of the images and texts, in the order given.
        With --json, one line per input: {"kind": ..., "input": ..., "embedding": [...]}.
        """,
        "classify": """
        usage: arf classify --model NAME --labels A,B,C [--template T]... [--top K] [--json]
                            FILE...

        Zero-shot classification: each label is put into every template (default "a photo of
        a {}."), the class embedding is the mean over templates, and each image gets the
        labels' probabilities, most probable first.

          --labels A,B,C   the labels (repeat the option to add more)
          --template T     a prompt template with {} for the label; repeat for an ensemble
          --top K          how many labels to show per image (default 5)
        """,
        "embed-folder": """
        usage: arf embed-folder --model NAME DIR [--batch N] [--max-rate R] [--detach] [--json]

        Submits a job that embeds every JPEG and PNG under DIR and stores the vectors in the
        daemon; images already stored are skipped, so running it again (or after a crash)
        only does what is left: new images, and images whose size or modification time
        changed since they were stored; the vectors of deleted images are dropped.
        Unreadable images are reported and skipped. Watches the job unless --detach is
        given; leaving the watch does not stop the job.

          --batch N      images per commit (default 32)
          --max-rate R   at most R images per second (default: no limit)
          --detach       print the job id and return at once
        """,
        "jobs": """
        usage: arf jobs list [--json]
               arf jobs watch ID [--json]
               arf jobs cancel ID [--json]
               arf jobs prune [--older-than AGE] [--keep N] [--json]
        """,
        "jobs list": """
        usage: arf jobs list [--json]

        Lists every job with its state and progress.
        """,
        "jobs watch": """
        usage: arf jobs watch ID [--json]

        Follows a job until it ends, with a progress bar (JSON lines with --json). Exits 0
        when the job succeeded, 1 when it failed or was cancelled.
        """,
        "jobs cancel": """
        usage: arf jobs cancel ID [--json]

        Cancels a queued job, or stops a running one at its next step.
        """,
        "jobs prune": """
        usage: arf jobs prune [--older-than AGE] [--keep N] [--json]

        Forgets ended jobs (succeeded, failed or cancelled) so that arf jobs list stays
        short. Queued and running jobs are never touched, and what jobs made (models, runs,
        anchors, evaluation results) stays.

          --older-than AGE   only jobs created at least AGE ago: a number with s, m, h or d
                             (default 0s: any age)
          --keep N           keep the N newest ended jobs whatever their age (default 20)
        """,
        "embeddings": """
        usage: arf embeddings list --model NAME DIR [--limit N] [--after ITEM] [--json]
        """,
        "embeddings list": """
        usage: arf embeddings list --model NAME DIR [--limit N] [--after ITEM] [--json]

        Prints embeddings that embed-folder stored for the model and folder, in item order.

          --limit N      at most N (default 1000)
          --after ITEM   start after this item path (for paging)
        """,
    ]

    /// The help for the longest command path in `words` that has one.
    static func text(for words: [String]) -> String {
        for length in stride(from: min(words.count, 2), through: 1, by: -1) {
            let key = words.prefix(length).joined(separator: " ")
            if let text = texts[key] ?? DataHelp.texts[key] ?? TrainingHelp.texts[key] {
                return text
            }
        }
        return main
    }
}
