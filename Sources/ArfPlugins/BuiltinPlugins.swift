// Every plugin built into arf, in one list. A built-in plugin is a target of its own under
// Plugins/, written against ArfPluginAPI exactly as an external one is; adding one is a
// target in Package.swift and a line here.
import ArfPluginAPI
import CaptionAnchorLossPlugin
import CommandCaptioner
import CrossEntropyLossPlugin
import ExactRetriever
import FLYPLossPlugin
import FileCaptioner
import IVFRetriever
import NearestCaptionCaptioner
import PairAnchorLossPlugin

/// The plugins arfd has without loading anything.
public enum BuiltinPlugins {
    /// Every built-in plugin type, captioners first, then retrievers, then losses.
    public static let all: [any ArfPlugin.Type] = [
        NearestCaptionCaptioner.self,
        FileCaptioner.self,
        CommandCaptioner.self,
        ExactRetriever.self,
        IVFRetriever.self,
        CrossEntropyLossPlugin.self,
        FLYPLossPlugin.self,
        CaptionAnchorLossPlugin.self,
        PairAnchorLossPlugin.self,
    ]
}
