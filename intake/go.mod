module github.com/xiaoyi-disputes/disputes/intake

go 1.26.0

require (
	github.com/xiaoyi-disputes/disputes/platform v0.0.0
	github.com/xiaoyi-disputes/disputes/proto v0.0.0
)

require github.com/google/go-cmp v0.7.0 // indirect

replace (
	github.com/xiaoyi-disputes/disputes/platform => ../platform
	github.com/xiaoyi-disputes/disputes/proto => ../proto
)
