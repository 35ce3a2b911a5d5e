import Testing

@testable import ObjectStorage

@Suite struct XMLTreeTests {
    @Test func readsAListObjectsV2Response() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
            <Contents><Key>a&amp;b &lt;c&gt; &#233;&#x4E2D;</Key><Size>12</Size></Contents>
            <Contents><Key>x</Key><Size>0</Size><Owner/></Contents>
            <!-- comment --><IsTruncated>true</IsTruncated><NextContinuationToken><![CDATA[tok/en]]></NextContinuationToken>
            </ListBucketResult>
            """
        let tree = try XMLTree.parse(Array(xml.utf8))
        #expect(tree.name == "ListBucketResult")
        #expect(tree.children("Contents").map { $0.value("Key") } == ["a&b <c> é中", "x"])
        #expect(tree.children("Contents").first?.value("Size") == "12")
        #expect(tree.value("IsTruncated") == "true")
        #expect(tree.value("NextContinuationToken") == "tok/en")
    }

    @Test func refusesBrokenDocuments() {
        #expect(throws: XMLTree.ParseError.self) { try XMLTree.parse(Array("<a><b></a>".utf8)) }
        #expect(throws: XMLTree.ParseError.self) { try XMLTree.parse(Array("<a>".utf8)) }
        #expect(throws: XMLTree.ParseError.self) { try XMLTree.parse(Array("not xml".utf8)) }
    }
}
