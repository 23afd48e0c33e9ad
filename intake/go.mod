module github.com/xiaoyi-disputes/disputes/intake

go 1.26.0

require (
	github.com/xiaoyi-disputes/disputes/platform v0.0.0
	github.com/xiaoyi-disputes/disputes/proto v0.0.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)

replace (
	github.com/xiaoyi-disputes/disputes/platform => ../platform
	github.com/xiaoyi-disputes/disputes/proto => ../proto
)
