// The configuration's presets, partial decoding and validation, and the loss registry:
// names and versions in one list, typed options, and refusals that say what is wrong.
import ArfCLIP
import ArfTraining
import Foundation
import Testing

@Suite("Configuration and loss registry") struct ConfigTests {
    @Test("each method's preset names its losses and trained towers")
    func presets() {
        let arf = FinetuneConfig(method: .arf)
        #expect(arf.losses.map(\.name) == ["flyp", "caption-anchor", "pair-anchor"])
        #expect(arf.losses.map(\.weight) == [1, 1, 1])
        #expect(arf.towers == .both && arf.trainLogitScale)
        #expect(FinetuneConfig(method: .ft).losses.map(\.name) == ["ce"])
        #expect(FinetuneConfig(method: .ft).towers == .image)
        #expect(FinetuneConfig(method: .lpFT).probeSteps > 0)
        #expect(FinetuneConfig(method: .flyp).losses.map(\.name) == ["flyp"])
        #expect(!FinetuneConfig(method: .zeroshot).trains)
        #expect(FinetuneConfig(method: .flyp).templates.count == 3)
    }

    @Test("a partial JSON configuration keeps the preset's other fields")
    func partialDecoding() throws {
        let json = #"""
            {"method": "arf", "steps": 300, "optimizer": {"learningRate": 0.0001},
             "losses": [{"name": "flyp"}, {"name": "caption-anchor", "weight": 0.5,
                         "options": {"captions": "first"}}]}
            """#
        let config = try JSONDecoder().decode(FinetuneConfig.self, from: Data(json.utf8))
        #expect(config.steps == 300 && config.epochs == nil)
        #expect(config.optimizer.learningRate == 1e-4)
        #expect(config.optimizer.weightDecay == 0.1)
        #expect(
            config.losses == [
                LossTerm("flyp"),
                LossTerm("caption-anchor", weight: 0.5, options: ["captions": .string("first")]),
            ])
        #expect(config.batchSize == FinetuneConfig(method: .arf).batchSize)
        let again = try JSONDecoder().decode(
            FinetuneConfig.self, from: JSONEncoder().encode(config))
        #expect(again == config)
    }

    @Test("validation names the field that is out of range")
    func validation() {
        var config = FinetuneConfig(method: .flyp)
        config.batchSize = 0
        #expect { try config.validate() } throws: { error in
            "\(error)".contains("batchSize")
        }
        config = FinetuneConfig(method: .arf)
        config.losses[1].weight = -1
        #expect { try config.validate() } throws: { error in
            "\(error)".contains("caption-anchor")
        }
        #expect(throws: Never.self) { try FinetuneConfig(method: .arf).validate() }
    }

    @Test("the registry lists every built-in loss with a version")
    func registryListing() {
        let names = LossRegistry.all.map(\.name)
        #expect(names == ["ce", "flyp", "caption-anchor", "pair-anchor"])
        #expect(LossRegistry.all.allSatisfy { $0.version >= 1 && !$0.summary.isEmpty })
    }

    @Test("unknown losses, unknown options and missing pairs are refused with reasons")
    func registryRefusals() throws {
        let model = try CLIPModel.load(directory: Fixture.tiny)
        let tokenizer = try CLIPTokenizer(directory: Fixture.tiny)
        let context = LossContext(
            model: model, tokenizer: tokenizer, classNames: ["a", "b"], templates: ["{}"],
            hasPairs: false)
        #expect { try LossRegistry.make(LossTerm("focal"), context: context) } throws: { error in
            "\(error)".contains("focal") && "\(error)".contains("flyp")
        }
        let badOption = LossTerm("flyp", options: ["temperature": .number(2)])
        #expect { try LossRegistry.make(badOption, context: context) } throws: { error in
            "\(error)".contains("temperature") && "\(error)".contains("templates")
        }
        let badValue = LossTerm("flyp", options: ["templates": .string("all")])
        #expect(throws: TrainingError.self) { try LossRegistry.make(badValue, context: context) }
        #expect { try LossRegistry.make(LossTerm("pair-anchor"), context: context) } throws: {
            "\($0)".contains("pairs")
        }
        let flyp = try LossRegistry.make(
            LossTerm("flyp", options: ["templates": .string("first")]), context: context)
        #expect((flyp as? FLYPLoss)?.options.templates == .first)
        let ce = try LossRegistry.make(
            LossTerm("ce", options: ["labelSmoothing": .number(0.1)]), context: context)
        #expect((ce as? CrossEntropyLoss)?.options.labelSmoothing == 0.1)
    }
}
