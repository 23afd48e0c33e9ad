module github.com/xiaoyi-disputes/disputes/routing

go 1.26.0
