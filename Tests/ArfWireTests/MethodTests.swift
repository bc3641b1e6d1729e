// The method table: ids and names are unique, names follow "arf.v1.Service/Method", lookups
// by id and by name agree, and each entry has the kind its typed method says.
import Testing

@testable import ArfWire

@Suite("Methods")
struct MethodTests {
    @Test("method ids and names are unique and non-zero")
    func unique() {
        #expect(Set(Methods.all.map(\.id)).count == Methods.all.count)
        #expect(Set(Methods.all.map(\.name)).count == Methods.all.count)
        #expect(!Methods.all.contains { $0.id == 0 })
    }

    @Test("every name reads arf.v1.Service/Method")
    func namesFollowThePattern() {
        for method in Methods.all {
            let parts = method.name.split(separator: "/")
            #expect(parts.count == 2 && parts[0].hasPrefix("arf.v1."), "\(method.name)")
            #expect(parts.last?.first?.isUppercase == true, "\(method.name)")
        }
    }

    @Test("lookups by id and by name find the same entry")
    func lookups() {
        for method in Methods.all {
            #expect(Methods.descriptor(id: method.id) == method)
            #expect(Methods.descriptor(named: method.name) == method)
        }
        #expect(Methods.descriptor(id: 999) == nil)
        #expect(Methods.descriptor(named: "arf.v1.Nothing/Here") == nil)
        #expect(Methods.descriptor(named: "arf.v1.Models/Load") == Methods.loadModel.descriptor)
    }

    @Test("only the watch method streams")
    func kinds() {
        let streaming = Methods.all.filter { $0.kind == .serverStream }
        #expect(streaming == [Methods.watchJob.descriptor])
    }
}
