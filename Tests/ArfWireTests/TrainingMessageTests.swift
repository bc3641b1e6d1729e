// Round-trip samples of the messages in arf/v1/training.proto (runs, evaluation results, the
// results page), with every field set; MessageTests runs them with the other samples.
@testable import ArfWire

let sampleRun = RunInfo(
    name: "arf-s1", method: "arf", model: "toy-clip", dataset: "finetune", state: "succeeded",
    step: 200, totalSteps: 200, trainingSeconds: 81.5, checkpoint: "/data/runs/arf-s1/final",
    finalLoss: 1.25, configJSON: #"{"method":"arf","steps":200}"#, createdUnix: 1.7e9)
let sampleResult = EvalResultInfo(
    model: "ft-s0+wise0.5", dataset: "sketch", role: "eval-shift", top1: 0.625, top5: 0.875,
    meanPerClassRecall: 0.6, examples: 600, classes: 8, checkpoint: "/data/wise/ft-s0/alpha-0.5",
    createdUnix: 1.7e9, benchmarkJSON: #"{"metrics": {"acc1": 0.625}}"#)

let trainingSamples: [MessageSample] = [
    MessageSample(ListRunsRequest(), empty: ListRunsRequest()),
    MessageSample(sampleRun, empty: RunInfo()),
    MessageSample(ListRunsReply(runs: [sampleRun, RunInfo(name: "ft")]), empty: ListRunsReply()),
    MessageSample(ListResultsRequest(models: ["ft-s0", "toy"]), empty: ListResultsRequest()),
    MessageSample(sampleResult, empty: EvalResultInfo()),
    MessageSample(
        ListResultsReply(results: [sampleResult, EvalResultInfo(model: "z", top5: nil)]),
        empty: ListResultsReply()),
    MessageSample(ReportCurve(method: "ft", models: ["ft-s0", "ft-s1"]), empty: ReportCurve()),
    MessageSample(
        WriteReportRequest(
            title: "demo", path: "/tmp/r.html", inDistribution: "id",
            outOfDistribution: ["sketch", "cartoon"],
            curves: [ReportCurve(method: "arf", models: ["arf-s0"])]),
        empty: WriteReportRequest()),
    MessageSample(
        WriteReportReply(path: "/tmp/r.html", curves: 3, points: 15), empty: WriteReportReply()),
]
