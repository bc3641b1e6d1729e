// The help texts of the training, evaluation, world and demo commands, keyed by command path
// as in Help.texts (which falls back to these), and the dispatch of those commands.
import ArfSupport

extension TrainingCommands {
    /// Runs one of the training, evaluation, world or demo commands.
    static func dispatch(_ command: String, _ arguments: inout Arguments, _ session: Session)
        throws -> Int32
    {
        let sub = arguments.positionals.dropFirst().first
        switch command {
        case "finetune": return try finetune(&arguments, session)
        case "pretrain": return try pretrain(&arguments, session)
        case "eval": return try EvalCommands.eval(&arguments, session)
        case "wise": return try EvalCommands.wise(&arguments, session)
        case "results": return try EvalCommands.results(&arguments, session)
        case "report": return try EvalCommands.report(&arguments, session)
        case "demo": return try DemoCommand.run(&arguments, session)
        case "runs":
            switch sub {
            case "list": return try listRuns(&arguments, session)
            case "rm": return try removeRun(&arguments, session)
            default: throw subcommand(sub, of: "runs", choices: "list, rm")
            }
        default:
            guard sub == "generate" else {
                throw subcommand(sub, of: "world", choices: "generate")
            }
            return try WorldCommands.generate(&arguments, session)
        }
    }

    private static func subcommand(_ given: String?, of command: String, choices: String)
        -> UsageError
    {
        UsageError(
            given.map { "unknown subcommand \(command) \($0); use \(choices)" }
                ?? "arf \(command) needs a subcommand: \(choices)",
            hint: "see arf \(command) --help")
    }
}

/// Help for `arf finetune`, `eval`, `wise`, `results`, `report`, `runs`, `pretrain`, `world`
/// and `demo`.
enum TrainingHelp {
    static let texts: [String: String] = [
        "finetune": """
        usage: arf finetune --model NAME --data DATASET --method M [options] [--detach] [--json]

        Finetunes model NAME on the registered image folder DATASET as a job, into a run
        folder under the daemon's data folder; the finished model is registered as a model
        named after the run. Progress shows the step, images per second, ETA, loss and
        learning rate. A stopped run (Ctrl-C does not stop it; arf jobs cancel does, and so
        does stopping arfd) resumes from its newest checkpoint when submitted again or when
        arfd restarts; a finished run is returned at once.

          --method M            zeroshot, ft, lp-ft, flyp or arf (a preset of every setting)
          --run NAME            the run's name (default METHOD-DATASET-sSEED)
          --config FILE         a JSON object of settings (FinetuneConfig fields) under the
                                options below
          --steps N | --epochs N    length of the run
          --batch N             images per step          --pair-batch N  pairs per step (arf)
          --lr X                peak learning rate       --wd X          weight decay
          --warmup N            warmup steps, then cosine decay to zero
          --seed S              data order and sampling  --clip X        gradient-norm clip
          --towers T            none, image, text or both
          --loss NAME[=W]       a loss term with its weight; repeat to build the loss
                                (ce, flyp, caption-anchor, pair-anchor, or a plugin's)
          --template T          a prompt template with {}; repeat for an ensemble
          --captions SET        caption set for caption-anchor (default: the newest)
          --anchors TASK        retrieval task for pair-anchor (arf anchors retrieve)
          --checkpoint-every N  steps between checkpoints   --probe-steps N  lp-ft probe
          --no-register         do not register the finished model

        example: arf finetune --model toy --data finetune --method arf --steps 200 \\
                     --anchors finetune-pairs --run arf-1
        """,
        "eval": """
        usage: arf eval --model NAME [--data D]... [--role R]... [--template T]... [--force]
                        [--export DIR] [--detach] [--json]

        Evaluates a registered model on registered image folders (a job): top-1, top-5 and
        mean per-class recall. Classes are scored with the zero-shot classifier of the
        template ensemble, or with the model's trained head (ft) on datasets of the head's
        classes. Results are stored per model and dataset and reused when the same checkpoint
        is evaluated with the same templates again.

          --data D       a dataset by name; repeat
          --role R       every dataset of a role (default: eval-id, eval-shift and
                         eval-zeroshot when no --data is given)
          --template T   a template with {} (default: the run's, else CLIP's short ensemble)
          --force        evaluate again even when stored
          --export DIR   also write CLIP_benchmark JSON files DIR/MODEL/DATASET.json
        """,
        "wise": """
        usage: arf wise --zeroshot MODEL --finetuned MODEL [--alpha A,B,...] [--data D]...
                        [--role R]... [--template T]... [--register] [--force] [--detach]

        WiSE-FT (a job): the weights (1 - α)·zero-shot + α·finetuned for each α (default
        0,0.25,0.5,0.75,1), each evaluated like arf eval. Points are named FINETUNED+wiseα
        in the results; α = 1 is the finetuned model and α = 0 the zero-shot one.

          --register   also register every interpolated point as a model
        """,
        "results": """
        usage: arf results [--model M]... [--export DIR] [--json]

        Lists stored evaluation results (of every model, or those named), as percentages;
        --json gives fractions. --export DIR writes CLIP_benchmark JSON files
        DIR/MODEL/DATASET.json.
        """,
        "report": """
        usage: arf report [--out FILE] [--title T] [--id DATASET] [--ood DATASET]...
                          [--curve METHOD=MODEL,MODEL]... [--json]

        Writes the self-contained HTML results page and prints its path: WiSE-FT curves of
        in-distribution against mean out-of-distribution accuracy, and tables of every
        metric. Each --curve averages its models (seeds of one method) at each α; without
        one, every finished run is a curve.

          --out FILE     where to write (default: a new file under the data folder)
          --id DATASET   the x axis (default: the first eval-id dataset)
          --ood DATASET  a dataset of the y axis' mean; repeat (default: every eval-shift one)
        """,
        "runs": """
        usage: arf runs list [--json]
               arf runs rm NAME [--json]
        """,
        "runs list": """
        usage: arf runs list [--json]

        Lists finetuning runs: method, base model, dataset, state, steps, time and loss.
        """,
        "runs rm": """
        usage: arf runs rm NAME [--json]

        Deletes finetuning run NAME and what it made in the data folder: its checkpoints,
        its WiSE-FT points, the evaluation results and curve of its model and points, and
        the models registered from them. Refused while a job uses the run or its models.
        """,
        "pretrain": """
        usage: arf pretrain (--pairs FILE | --data POOL) --out DIR [options] [--detach] [--json]

        Pretrains a CLIP model from scratch (a job): a BPE vocabulary learnt from the captions,
        fresh weights from the seed, the contrastive loss, AdamW with warmup and cosine decay.
        DIR becomes a Hugging Face CLIP checkpoint folder. The run saves its state every
        --checkpoint-every steps and resumes from it when submitted again with the same
        settings.

          --pairs FILE        a CSV (.csv) or TSV list with filepath and caption columns
          --data POOL         a registered pair-list dataset instead, with its own columns
          --steps N  --batch N  --lr X  --warmup N  --wd X  --seed S
          --vision-width N  --vision-layers N  --vision-heads N  --patch N  --image-size N
          --text-width N  --text-layers N  --text-heads N  --context N  --projection N
          --merges N          BPE merges learnt from the captions
          --config FILE       a JSON object of these settings (PretrainConfig fields)
          --load-as NAME      register the result as model NAME
        """,
        "world": """
        usage: arf world generate --out DIR --seed S [--scale default|small] [--threads N]
        """,
        "world generate": """
        usage: arf world generate --out DIR --seed S [--scale default|small] [--threads N]
                                  [--json]

        Writes the synthetic world of seed S into DIR (new or empty), in this process: the
        pool (pairs.tsv and images), the finetuning photos and the evaluation sets as image
        folders, and world.json with every file's SHA-256. The default scale has 50,000 pool
        pairs, 4,000 finetuning photos and 600 images per evaluation set; small is for tests.
        """,
        "demo": """
        usage: arf demo [--seeds N] [--json [FILE]] [--work DIR] [--steps N] [--quick]
                        [--model DIR] [--world DIR]

        Runs the whole experiment: starts a private arfd under the work folder unless one
        answers on the socket, generates the world (seed 0) unless present, loads the toy
        model (models/toy-clip), registers the datasets, makes caption anchors (the
        nearest-caption captioner over the pool's captions) and pair anchors (retrieved from
        the pool per class, leaving out pool images near evaluation images), finetunes ft,
        flyp and arf with fixed settings (200 steps of 128 images, learning rate 1e-4 with
        10% warmup; arf with both anchor weights 1 and 128 pairs per step), evaluates the
        zero-shot model and a WiSE-FT curve of each finetuned one (α 0, 0.25, 0.5, 0.75, 1)
        on every evaluation set, prints the table and writes the HTML report. Running it
        again reuses everything already made.

          --seeds N      finetune with seeds 0..N-1; cells show mean ± standard deviation
          --json [FILE]  write the results as JSON to FILE (to standard output without one)
          --work DIR     the folder for the world, daemon data and report (~/.arf/demo)
          --steps N      steps per finetuning run (default 200)
          --quick        a small world and 30 steps of 32 images, for a first look
          --model DIR    a checkpoint other than models/toy-clip
          --world DIR    an existing world folder instead of generating one
          --batch N, --pair-batch N   images and retrieved pairs per step
        """,
    ]
}
