// Package pushweb holds the browser side of Web Push (issue 7): the
// service worker, the page script and the demo page, served by the server
// under /push/.
package pushweb

import (
	"embed"
	"io/fs"
)

//go:embed sw.js client.js demo.html
var files embed.FS

// FS returns the files: sw.js, client.js and demo.html.
func FS() fs.FS { return files }
