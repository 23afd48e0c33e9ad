module github.com/xiaoyi-disputes/disputes/gateway

go 1.26.0
